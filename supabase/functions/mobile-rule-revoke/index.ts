import { serveEndpoint } from "../_shared/serve.ts";
import { mobileRuleRevoke } from "../_shared/endpoints/mobile_rule_revoke.ts";

serveEndpoint(mobileRuleRevoke);
