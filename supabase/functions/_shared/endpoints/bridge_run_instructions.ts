// bridge-run-instructions: the hook runner collects a run's pending instructions, oldest
// first; they are marked delivered in the same transaction (docs/contract/api.md#instructions).
import { callJson } from "../db.ts";
import { defineEndpoint, jsonResponse } from "../endpoint.ts";

export const bridgeRunInstructions = defineEndpoint({
  name: "bridge-run-instructions",
  method: "GET",
  auth: "bridge",
  summary: "Collect a run's pending instructions (marks them delivered)",
  status: 200,
  response: "RunInstructionsResponse",
  errors: ["not_found"],
  param: "run_id",
  async handle(ctx, deps) {
    const result = await callJson(
      deps.sql,
      "private.collect_run_instructions($1::uuid, $2::integer, $3::text, $4::uuid)",
      [ctx.bridge.workspaceId, ctx.bridge.secretVersion, ctx.bridge.nonce, ctx.param],
    );
    return jsonResponse(result, 200);
  },
});
