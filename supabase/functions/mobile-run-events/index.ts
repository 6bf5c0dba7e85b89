import { serveEndpoint } from "../_shared/serve.ts";
import { mobileRunEvents } from "../_shared/endpoints/mobile_run_events.ts";

serveEndpoint(mobileRunEvents);
