// mobile-approval-decision/:approval_id (SPEC section 4, endpoint 7): approves or denies.
// One SQL compare-and-set under the approval's row lock decides, writes APPROVAL_DECIDED,
// drops the approval's unsent pushes, queues the other devices' silent clear and sends
// NOTIFY, in one transaction: exactly one decision wins. The note is kept untouched: it is
// the instruction handed to the agent.
import { ApprovalDecisionRequest } from "../../../../shared/api_schemas.ts";
import { callJson } from "../db.ts";
import { defineEndpoint, jsonResponse } from "../endpoint.ts";
import { HttpError } from "../http_error.ts";

export const mobileApprovalDecision = defineEndpoint({
  name: "mobile-approval-decision",
  method: "POST",
  auth: "mobile",
  param: "approval_id",
  body: ApprovalDecisionRequest,
  async handle(ctx, deps) {
    const out = await callJson<{ result?: unknown; expired?: unknown }>(
      deps.sql,
      "private.decide_approval($1::uuid, $2::uuid, $3::text, $4::text, $5::uuid)",
      [
        ctx.user.id,
        ctx.param,
        ctx.body.decision,
        ctx.body.note ?? null,
        ctx.body.device_id ?? null,
      ],
    );
    deps.push.deliverSoon();
    if (out.expired) {
      // The expiry itself is kept (timeline event, NOTIFY, clear push); the decision is not.
      throw new HttpError("expired", "Expired: the approval passed its expires_at", {
        details: out.expired,
      });
    }
    return jsonResponse(out.result);
  },
});
