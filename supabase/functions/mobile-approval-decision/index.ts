import { serveEndpoint } from "../_shared/serve.ts";
import { mobileApprovalDecision } from "../_shared/endpoints/mobile_approval_decision.ts";

serveEndpoint(mobileApprovalDecision);
