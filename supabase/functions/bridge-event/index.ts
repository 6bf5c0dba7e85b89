import { serveEndpoint } from "../_shared/serve.ts";
import { bridgeEvent } from "../_shared/endpoints/bridge_event.ts";

serveEndpoint(bridgeEvent);
