// mobile-approval-decision/:approval_id (docs/contract/api.md#mobile-approval-decision): approves
// or denies. One SQL compare-and-set under the approval's row lock decides, writes
// APPROVAL_DECIDED, drops the approval's unsent pushes, queues the other devices' silent clear and
// sends NOTIFY, in one transaction: exactly one decision wins. The note is kept untouched: it is
// the instruction handed to the agent. With `remember` (issue 15) the same transaction
// also makes a rule from the approval's command: its words are derived here, with the
// shared definition (shared/rule_match.ts), from the command read first; the SQL checks
// that command is still the approval's before it stores the rule.
import { rememberedWords, RuleValueError } from "@shared/rule_match.ts";
import { callJson } from "../db.ts";
import { defineEndpoint, jsonResponse } from "../endpoint.ts";
import { HttpError } from "../http_error.ts";

export const mobileApprovalDecision = defineEndpoint({
  name: "mobile-approval-decision",
  method: "POST",
  auth: "mobile",
  summary: "Approve or deny (with an optional note for the agent)",
  description:
    "Exactly one decision wins; the same decision repeated answers 200 with the stored result; a different one is 409 already_decided with it in details.",
  status: 200,
  response: "ApprovalDecisionResponse",
  errors: ["not_found", "already_decided", "expired"],
  param: "approval_id",
  body: "ApprovalDecisionRequest",
  async handle(ctx, deps) {
    const args = [
      ctx.user.id,
      ctx.param,
      ctx.body.decision,
      ctx.body.note ?? null,
      ctx.body.device_id ?? null,
    ];
    let out: { result?: unknown; expired?: unknown; pushes?: number };
    const remember = ctx.body.remember;
    if (remember) {
      const command = await callJson<string | null>(
        deps.sql,
        "private.approval_command_for_user($1::uuid, $2::uuid)",
        [ctx.user.id, ctx.param],
      );
      if (command === null) throw new HttpError("not_found", "Not found: no such approval");
      let rule: { words: string[][]; value: string };
      try {
        rule = await rememberedWords(command, remember);
      } catch (error) {
        if (error instanceof RuleValueError) {
          throw new HttpError("invalid_request", `Invalid request: ${error.message}`);
        }
        throw error;
      }
      out = await callJson(
        deps.sql,
        "private.decide_approval_and_remember($1::uuid, $2::uuid, $3::text, $4::text, $5::uuid, $6::jsonb)",
        [...args, {
          command,
          effect: ctx.body.decision === "APPROVE" ? "allow" : "deny",
          match: remember.match,
          value: rule.value,
          words: rule.words,
          expires_in_seconds: remember.expires_in_seconds,
        }],
      );
    } else {
      out = await callJson(
        deps.sql,
        "private.decide_approval($1::uuid, $2::uuid, $3::text, $4::text, $5::uuid)",
        args,
      );
    }
    // the other devices' silent clear (or an expiry's); none queued (only the deciding
    // device is paired): no sweep after the response
    if (out.pushes !== 0) deps.push.deliverSoon();
    if (out.expired) {
      // The expiry itself is kept (timeline event, NOTIFY, clear push); the decision is not.
      throw new HttpError("expired", "Expired: the approval passed its expires_at", {
        details: out.expired,
      });
    }
    return jsonResponse(out.result);
  },
});
