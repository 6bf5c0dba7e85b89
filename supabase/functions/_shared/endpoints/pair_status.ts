// pair-status (docs/contract/api.md#pair-status): the hook runner asks whether a phone paired.
// Bridge auth; the first read consumes the nonce. With ?wait=N the request is parked in the
// isolate's pairing waiter (woken by LISTEN workspace_paired and re-read in one batched
// query with every other parked request; never a query per request) until the first
// device pairs or N seconds pass. A workspace parks a few requests at most: 429 beyond.
import { defineEndpoint, jsonResponse } from "../endpoint.ts";
import { callJson } from "../db.ts";
import type { PairingState } from "../pairing_waiter.ts";
import { loadWaiters } from "../load_waiters.ts";

export const pairStatus = defineEndpoint({
  name: "pair-status",
  method: "GET",
  auth: "bridge",
  summary: "Whether the workspace is paired; with wait, holds until the first device pairs",
  status: 200,
  response: "PairStatusResponse",
  errors: [],
  query: "PairStatusQuery",
  async handle(ctx, deps) {
    const { workspaceId, secretVersion, nonce } = ctx.bridge;
    // Reserved before the first read (a pairing in between still wakes it), and before
    // the nonce is spent, so a request refused for the cap writes nothing.
    const slot = ctx.query.wait > 0
      ? (await loadWaiters(deps)).pairing.reserve(workspaceId)
      : undefined;
    try {
      const state = await callJson<PairingState>(
        deps.sql,
        "private.pair_status($1::uuid, $2::integer, $3::text)",
        [workspaceId, secretVersion, nonce],
      );
      if (!slot || state.paired) return jsonResponse(state);
      return jsonResponse(await slot.wait(ctx.query.wait * 1000, ctx.signal) ?? state);
    } finally {
      slot?.release();
    }
  },
});
