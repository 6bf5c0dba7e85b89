import { serveEndpoint } from "../_shared/serve.ts";
import { pushDispatch } from "../_shared/endpoints/push_dispatch.ts";

serveEndpoint(pushDispatch);
