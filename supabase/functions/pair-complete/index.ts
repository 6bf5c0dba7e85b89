import { serveEndpoint } from "../_shared/serve.ts";
import { pairComplete } from "../_shared/endpoints/pair_complete.ts";

serveEndpoint(pairComplete);
