// pair-status (SPEC section 4, endpoint 3): the hook runner asks whether a phone paired.
// Bridge auth; the first read consumes the nonce. With ?wait=N the request is parked until
// the first device pairs (woken by the pairing waiter's LISTEN, re-read every couple of
// seconds in case a notification is lost) or N seconds pass.
import { defineEndpoint, jsonResponse } from "../endpoint.ts";
import { callJson } from "../db.ts";
import { PairStatusQuery } from "../../../../shared/api_schemas.ts";

interface PairingState {
  workspace_id: string;
  paired: boolean;
  devices: { device_id: string; platform: string; device_name: string | null; paired_at: string }[];
}

export const pairStatus = defineEndpoint({
  name: "pair-status",
  method: "GET",
  auth: "bridge",
  query: PairStatusQuery,
  async handle(ctx, deps) {
    const { workspaceId, secretVersion, nonce } = ctx.bridge;
    const deadline = performance.now() + ctx.query.wait * 1000;
    // registered before the first read, so a pairing in between still wakes it
    const watch = ctx.query.wait > 0 ? await deps.pairing.watch(workspaceId) : undefined;
    try {
      let state = await callJson<PairingState>(
        deps.sql,
        "private.pair_status($1::uuid, $2::integer, $3::text)",
        [workspaceId, secretVersion, nonce],
      );
      while (watch && !state.paired && !watch.stopped && !ctx.signal.aborted) {
        const remaining = deadline - performance.now();
        if (remaining <= 0) break;
        await watch.next(remaining, ctx.signal);
        if (ctx.signal.aborted) break;
        state = await callJson<PairingState>(deps.sql, "private.pairing_state($1::uuid)", [
          workspaceId,
        ]);
      }
      return jsonResponse(state);
    } finally {
      watch?.close();
    }
  },
});
