// mobile-rules (issue 15): POST makes a rule in one of the user's workspaces, GET lists a
// workspace's active rules, newest first. The rule's words are parsed here with the
// shared definition (shared/rule_match.ts) and stored, so the server and the hook runner
// read one meaning. Both answer not_found for a workspace none of the user's devices is
// paired with.
import { RuleValueError, ruleWords } from "@shared/rule_match.ts";
import { callJson } from "../db.ts";
import { defineEndpoint, jsonResponse } from "../endpoint.ts";
import { HttpError } from "../http_error.ts";

export const mobileRulesCreate = defineEndpoint({
  name: "mobile-rules",
  method: "POST",
  auth: "mobile",
  summary: "Make a rule in one of your workspaces (allow or deny, exact or prefix)",
  description:
    "value is parsed into simple commands with the hook runner's parser; a prefix rule is one simple command. At most 200 active rules per workspace (409 conflict beyond). Writes RULE_CREATED on the workspace timeline.",
  status: 201,
  response: "RuleResponse",
  errors: ["not_found", "conflict"],
  body: "RuleCreateRequest",
  async handle(ctx, deps) {
    let parsed: { words: string[][]; value: string };
    try {
      parsed = await ruleWords(ctx.body.match, ctx.body.value);
    } catch (error) {
      if (error instanceof RuleValueError) {
        throw new HttpError("invalid_request", `Invalid request: ${error.message}`);
      }
      throw error;
    }
    const rule = await callJson(deps.sql, "private.create_rule($1::uuid, $2::jsonb)", [
      ctx.user.id,
      { ...ctx.body, value: parsed.value, words: parsed.words },
    ]);
    return jsonResponse(rule, 201);
  },
});

export const mobileRulesList = defineEndpoint({
  name: "mobile-rules",
  method: "GET",
  auth: "mobile",
  summary: "A workspace's active rules, newest first",
  status: 200,
  response: "RulesListResponse",
  errors: ["not_found"],
  query: "RulesQuery",
  async handle(ctx, deps) {
    const out = await callJson(deps.sql, "private.list_rules($1::uuid, $2::uuid)", [
      ctx.user.id,
      ctx.query.workspace_id,
    ]);
    return jsonResponse(out);
  },
});
