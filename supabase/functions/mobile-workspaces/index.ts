import { serveEndpoint } from "../_shared/serve.ts";
import { mobileWorkspaces } from "../_shared/endpoints/mobile_workspaces.ts";

serveEndpoint(mobileWorkspaces);
