// mobile-run-instruction: the phone queues an instruction for a run it can see
// (docs/contract/api.md#instructions); the hook runner hands it to the agent at the next stop.
import { callJson } from "../db.ts";
import { defineEndpoint, jsonResponse } from "../endpoint.ts";

export const mobileRunInstruction = defineEndpoint({
  name: "mobile-run-instruction",
  method: "POST",
  auth: "mobile",
  summary: "Queue an instruction for a run",
  status: 201,
  response: "RunInstructionResponse",
  errors: ["not_found", "rate_limited"],
  param: "run_id",
  body: "RunInstructionRequest",
  async handle(ctx, deps) {
    const result = await callJson(
      deps.sql,
      "private.queue_run_instruction($1::uuid, $2::uuid, $3::text, $4::integer)",
      [ctx.user.id, ctx.param, ctx.body.text, deps.config.RATE_LIMIT_INSTRUCTIONS_PER_MINUTE],
    );
    return jsonResponse(result, 201);
  },
});
