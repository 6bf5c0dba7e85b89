// pair-complete (docs/contract/api.md#pair-complete): the phone redeems a pair token. Mobile auth;
// rate-limited per user, and the limit counts wrong tokens too (the SQL returns those as a
// value, not an exception, so the hit commits).
import { defineEndpoint, jsonResponse } from "../endpoint.ts";
import { callJson } from "../db.ts";
import { type ErrorCode, HttpError } from "../http_error.ts";
import { hashPairToken } from "../pair_token.ts";

interface PairCompleteResult {
  device_id?: string;
  workspace_id?: string;
  display_name?: string;
  error?: { code: ErrorCode; message: string };
}

export const pairComplete = defineEndpoint({
  name: "pair-complete",
  method: "POST",
  auth: "mobile",
  summary: "Complete pairing from the phone with the pair token",
  description: "An unknown, used or expired token is not_found with one message for all three.",
  status: 200,
  response: "PairCompleteResponse",
  errors: ["not_found", "rate_limited"],
  body: "PairCompleteRequest",
  async handle(ctx, deps) {
    const { pair_token, ...device } = ctx.body;
    const result = await callJson<PairCompleteResult>(
      deps.sql,
      "private.pair_complete($1::uuid, $2::integer, $3::jsonb)",
      [
        ctx.user.id,
        deps.config.RATE_LIMIT_PAIR_COMPLETE_PER_MINUTE,
        {
          ...device,
          // a browser registers a PushSubscription; phones default to FCM
          push_provider: device.push_provider ?? (device.platform === "web" ? "webpush" : "fcm"),
          token_hash: await hashPairToken(pair_token),
        },
      ],
    );
    if (result.error) throw new HttpError(result.error.code, result.error.message);
    ctx.log.info("device paired", {
      workspace_id: result.workspace_id,
      device_id: result.device_id,
    });
    return jsonResponse({
      device_id: result.device_id,
      workspace_id: result.workspace_id,
      display_name: result.display_name,
    });
  },
});
