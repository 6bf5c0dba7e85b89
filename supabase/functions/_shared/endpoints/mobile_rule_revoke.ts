// mobile-rule-revoke/:rule_id (issue 15): takes a rule back at once; the hook runner
// stops applying it at its next refresh (a few seconds). Revoking twice answers the
// revoked rule again.
import { callJson } from "../db.ts";
import { defineEndpoint, jsonResponse } from "../endpoint.ts";

export const mobileRuleRevoke = defineEndpoint({
  name: "mobile-rule-revoke",
  method: "POST",
  auth: "mobile",
  summary: "Revoke a rule (the hook runner stops applying it at its next refresh)",
  description:
    "Writes RULE_REVOKED on the workspace timeline; revoking twice answers the revoked rule again.",
  status: 200,
  response: "RuleResponse",
  errors: ["not_found"],
  param: "rule_id",
  async handle(ctx, deps) {
    const rule = await callJson(deps.sql, "private.revoke_rule($1::uuid, $2::uuid)", [
      ctx.user.id,
      ctx.param,
    ]);
    return jsonResponse(rule);
  },
});
