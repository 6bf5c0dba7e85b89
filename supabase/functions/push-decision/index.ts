import { serveEndpoint } from "../_shared/serve.ts";
// Its first request is validated before anything can refuse it: the schemas at start.
import "../_shared/validate_at_start.ts";
import { pushDecision } from "../_shared/endpoints/push_decision.ts";

serveEndpoint(pushDecision);
