import { serveEndpoint } from "../_shared/serve.ts";
import { pairStatus } from "../_shared/endpoints/pair_status.ts";

serveEndpoint(pairStatus);
