import { serveEndpoint } from "../_shared/serve.ts";
import { pairStart } from "../_shared/endpoints/pair_start.ts";

serveEndpoint(pairStart);
