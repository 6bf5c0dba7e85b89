// push-decision (issue 17): approve or deny straight from the notification. No JWT: the
// single-use decision_token an approval push carried is the credential. It decides exactly
// as its device would through mobile-approval-decision (private.decide_approval inside
// private.push_decide: one winner, APPROVAL_DECIDED, decided_by_device_id), then the token
// is spent. Rate-limited per client IP and per token; the hits count even when the token
// is refused (the SQL returns refusals as a value), so tokens cannot be guessed.
import { sha256Hex } from "@shared/signing.ts";
import { callJson } from "../db.ts";
import { defineEndpoint, jsonResponse } from "../endpoint.ts";
import { type ErrorCode, HttpError } from "../http_error.ts";

interface PushDecideResult {
  result?: unknown;
  expired?: unknown;
  error?: { code: ErrorCode; message: string; details?: Record<string, unknown> | null };
}

export const pushDecision = defineEndpoint({
  name: "push-decision",
  method: "POST",
  auth: "none",
  summary: "Approve or deny from the notification with its single-use decision_token",
  description:
    "No JWT: the decision_token an approval push carried (data.decision_token) is the credential. Decides exactly as that device would through mobile-approval-decision. A used, unknown or expired token is not_found with one message. Rate-limited per client IP (RATE_LIMIT_PUSH_DECISION_PER_MINUTE) and per token (RATE_LIMIT_PUSH_DECISION_TOKEN_PER_MINUTE).",
  status: 200,
  response: "PushDecisionResponse",
  errors: ["not_found", "forbidden", "already_decided", "expired", "rate_limited"],
  // the web app's service worker calls it from another origin
  cors: true,
  body: "PushDecisionRequest",
  async handle(ctx, deps) {
    const out = await callJson<PushDecideResult>(
      deps.sql,
      "private.push_decide($1::text, $2::text, $3::text, $4::text, $5::integer, $6::integer)",
      [
        await sha256Hex(ctx.body.decision_token),
        ctx.ip,
        ctx.body.decision,
        ctx.body.note ?? null,
        deps.config.RATE_LIMIT_PUSH_DECISION_PER_MINUTE,
        deps.config.RATE_LIMIT_PUSH_DECISION_TOKEN_PER_MINUTE,
      ],
    );
    if (out.error) {
      const { code, message, details } = out.error;
      if (code === "rate_limited") {
        const retryAfter = Number(details?.retry_after ?? 60);
        throw new HttpError(code, message, {
          headers: { "retry-after": String(retryAfter) },
          details: details ?? undefined,
        });
      }
      throw new HttpError(code, message, details ? { details } : {});
    }
    deps.push.deliverSoon(); // the other devices' silent clear
    if (out.expired) {
      throw new HttpError("expired", "Expired: the approval passed its expires_at", {
        details: out.expired,
      });
    }
    ctx.log.info("approval decided from a notification");
    return jsonResponse(out.result);
  },
});
