// pair-start (docs/contract/api.md#pair-start): the hook runner asks for a pair token. No auth;
// rate-limited per client IP. A request signed with a workspace's current secret re-pairs
// that workspace (same machine and project: a new secret); anything else gets a new one.
// Returns the token (shown once, stored hashed) and the workspace's bridge secret.
import { defineEndpoint, jsonResponse } from "../endpoint.ts";
import { callJson } from "../db.ts";
import { deriveBridgeSecret } from "@shared/signing.ts";
import { hashPairToken, newPairToken, PAIR_TOKEN_TTL_SECONDS, pairingUri } from "../pair_token.ts";

export const pairStart = defineEndpoint({
  name: "pair-start",
  method: "POST",
  auth: "bridge-optional",
  summary: "Start pairing a workspace (hook runner); returns its bridge secret and a pair token",
  description:
    "No auth; 10 a minute per client IP. Unsigned, it always makes a new workspace. Signed like a bridge request (X-Workspace-Id, X-Timestamp, X-Nonce, X-Signature[-Version]) with a workspace's current secret, the same machine_id + workspace_fingerprint keep that workspace and get a new secret; a signature that does not verify is 401.",
  status: 201,
  response: "PairStartResponse",
  errors: ["rate_limited"],
  body: "PairStartRequest",
  async handle(ctx, deps) {
    const token = newPairToken();
    const started = await callJson<
      { workspace_id: string; secret_version: number; expires_at: string }
    >(
      deps.sql,
      "private.pair_start($1::text, $2::integer, $3::jsonb, $4::uuid, $5::integer, $6::text)",
      [
        ctx.ip,
        deps.config.RATE_LIMIT_PAIR_START_PER_MINUTE,
        {
          machine_id: ctx.body.machine_id,
          workspace_fingerprint: ctx.body.workspace_fingerprint,
          display_name: ctx.body.display_name,
          token_hash: await hashPairToken(token),
          ttl_seconds: PAIR_TOKEN_TTL_SECONDS,
        },
        ctx.bridge?.workspaceId ?? null,
        ctx.bridge?.secretVersion ?? null,
        ctx.bridge?.nonce ?? null,
      ],
    );
    const bridgeSecret = await deriveBridgeSecret(
      deps.config.HMAC_SECRET,
      started.workspace_id,
      started.secret_version,
    );
    ctx.log.info("pair started", { workspace_id: started.workspace_id });
    return jsonResponse({
      pair_token: token,
      expires_at: started.expires_at,
      workspace_id: started.workspace_id,
      bridge_secret: bridgeSecret,
      pairing_uri: pairingUri(token),
    }, 201);
  },
});
