import { serveEndpoint } from "../_shared/serve.ts";
import { sameName } from "../_shared/endpoint_methods.ts";
import { mobileRulesCreate, mobileRulesList } from "../_shared/endpoints/mobile_rules.ts";

serveEndpoint(sameName(mobileRulesCreate, mobileRulesList));
