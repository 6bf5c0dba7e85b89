import { serveEndpoint } from "../_shared/serve.ts";
import { bridgeApprovalWait } from "../_shared/endpoints/bridge_approval_wait.ts";

serveEndpoint(bridgeApprovalWait);
