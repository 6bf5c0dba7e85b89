import { serveEndpoint } from "../_shared/serve.ts";
import { mobileRuns } from "../_shared/endpoints/mobile_runs.ts";

serveEndpoint(mobileRuns);
