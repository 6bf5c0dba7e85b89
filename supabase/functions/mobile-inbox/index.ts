import { serveEndpoint } from "../_shared/serve.ts";
import { mobileInbox } from "../_shared/endpoints/mobile_inbox.ts";

serveEndpoint(mobileInbox);
