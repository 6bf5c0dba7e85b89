import { serveEndpoint } from "../_shared/serve.ts";
import { mobileDevice } from "../_shared/endpoints/mobile_device.ts";

serveEndpoint(mobileDevice);
