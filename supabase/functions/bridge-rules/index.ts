import { serveEndpoint } from "../_shared/serve.ts";
import { bridgeRules } from "../_shared/endpoints/bridge_rules.ts";

serveEndpoint(bridgeRules);
