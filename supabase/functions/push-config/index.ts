import { serveEndpoint } from "../_shared/serve.ts";
import { pushConfig } from "../_shared/endpoints/push_config.ts";

serveEndpoint(pushConfig);
