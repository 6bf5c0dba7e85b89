import { serveEndpoint } from "../_shared/serve.ts";
import { bridgeRunInstructions } from "../_shared/endpoints/bridge_run_instructions.ts";

serveEndpoint(bridgeRunInstructions);
