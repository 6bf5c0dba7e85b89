import { serveEndpoint } from "../_shared/serve.ts";
import { bridgeApprovalRequest } from "../_shared/endpoints/bridge_approval_request.ts";

serveEndpoint(bridgeApprovalRequest);
