// mobile-inbox (issue 18, docs/web-api.md): the approvals of every workspace paired with one
// of the user's devices, pending ones and recently settled ones, with a cursor. With
// ?wait=N&since=<cursor> the request parks in the isolate's read waiter until the inbox
// differs from that cursor (woken by NOTIFY approvals_changed or workspace_paired, the
// earliest expiry, or the batched re-read), or N seconds pass.
import { defineEndpoint, jsonResponse } from "../endpoint.ts";
import { inboxKey, inboxResponse, type InboxState, readInboxes } from "../mobile_reads.ts";
import { loadWaiters } from "../load_waiters.ts";

export const mobileInbox = defineEndpoint({
  name: "mobile-inbox",
  method: "GET",
  auth: "mobile",
  summary:
    "Pending and recently settled approvals across all your paired workspaces, with a cursor; long-polls with wait and since",
  description:
    "With wait=N (1..30) and since=<cursor>, holds the request until the inbox differs from that cursor (woken by NOTIFY approvals_changed or workspace_paired, the earliest expiry, or a batched re-read) or N seconds pass. At most MOBILE_WAIT_MAX_PARKED_PER_USER (4) parked long-polls per user and isolate: 429 beyond. docs/web-api.md.",
  status: 200,
  response: "MobileInboxResponse",
  errors: ["invalid_request", "rate_limited"],
  query: "MobileInboxQuery",
  async handle(ctx, deps) {
    const { wait, since, recent } = ctx.query;
    // Reserved before the first read, so a change in between still wakes it, and a request
    // refused for the cap reads nothing.
    const slot = wait > 0 && since
      ? (await loadWaiters(deps)).reads.reserve(ctx.user.id)
      : undefined;
    try {
      const [state] = await readInboxes(deps.sql, [{ userId: ctx.user.id, recent }]);
      if (!slot || state.cursor !== since) {
        return jsonResponse(await inboxResponse(state, deps.now()));
      }
      const later = await slot.wait({
        key: inboxKey(ctx.user.id, recent),
        topics: state.workspace_ids,
        notified: true,
        done: (s) => s.kind === "inbox" && s.cursor !== since,
        timeoutMs: wait * 1000,
        recheckAt: state.next_expiry ? Date.parse(state.next_expiry) : undefined,
        signal: ctx.signal,
      });
      return jsonResponse(await inboxResponse((later as InboxState | null) ?? state, deps.now()));
    } finally {
      slot?.release();
    }
  },
});
