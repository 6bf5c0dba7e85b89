import { serveEndpoint } from "../_shared/serve.ts";
import { pushDecision } from "../_shared/endpoints/push_decision.ts";

serveEndpoint(pushDecision);
