import { serveEndpoint } from "../_shared/serve.ts";
import { mobileUnpair } from "../_shared/endpoints/mobile_unpair.ts";

serveEndpoint(mobileUnpair);
