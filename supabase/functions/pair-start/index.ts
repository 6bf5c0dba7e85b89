import { serveEndpoint } from "../_shared/serve.ts";
// Its first request is validated before anything can refuse it: the schemas at start.
import "../_shared/validate_at_start.ts";
import { pairStart } from "../_shared/endpoints/pair_start.ts";

serveEndpoint(pairStart);
