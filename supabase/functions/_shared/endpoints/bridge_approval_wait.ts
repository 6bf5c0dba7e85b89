// bridge-approval-wait/:approval_id (docs/contract/api.md#bridge-approval-wait,
// docs/contract/waiting.md): answers as soon as the approval is decided or expires, or PENDING when
// the timeout passes. The first read consumes the nonce; a pending approval is then parked in the
// isolate's waiter. A decided answer marks the approval delivered (for the parked, the waiter
// writes the receipt right after handing the decision out: private.mark_approvals_delivered);
// every answer carries devices_notified.
import type { ApprovalState } from "@shared/api_schemas.ts";
import { callJson } from "../db.ts";
import { defineEndpoint, jsonResponse } from "../endpoint.ts";
import type { Deps } from "../deps.ts";
// Builds deps.waiter, deps.pairing and deps.reads (deps.ts: only the functions that park
// requests load them).
import "../waiters.ts";

export const bridgeApprovalWait = defineEndpoint({
  name: "bridge-approval-wait",
  method: "GET",
  auth: "bridge",
  summary: "Long-poll an approval until it is decided, expires or the timeout passes",
  description: "timeout is capped by APPROVAL_WAIT_MAX_SECONDS; PENDING means ask again.",
  status: 200,
  response: "ApprovalWaitResponse",
  errors: ["not_found"],
  param: "approval_id",
  query: "ApprovalWaitQuery",
  async handle(ctx, deps) {
    const first = await callJson<ApprovalState>(
      deps.sql,
      "private.read_approval_for_wait($1::uuid, $2::integer, $3::text, $4::uuid)",
      [ctx.bridge.workspaceId, ctx.bridge.secretVersion, ctx.bridge.nonce, ctx.param],
    );
    if (first.status === "EXPIRED") deps.push.deliverSoon(); // the clear push of a fresh expiry
    if (first.status !== "PENDING") return jsonResponse(await delivered(deps, first));
    const timeoutSeconds = Math.min(ctx.query.timeout, deps.config.APPROVAL_WAIT_MAX_SECONDS);
    const settled = await deps.waiter.wait(first.approval_id, {
      timeoutMs: timeoutSeconds * 1000,
      expiresAt: first.expires_at,
      signal: ctx.signal,
    });
    // settled: re-read by the waiter, which writes its delivery receipt after handing it out
    return jsonResponse(settled ?? first);
  },
});

/** A decision reaching the hook runner is the receipt: delivered_at and APPROVAL_DELIVERED,
 * once (private.mark_approval_delivered). A module function, not a closure of the handler:
 * a parked request keeps no copy of it. */
async function delivered(deps: Deps, state: ApprovalState): Promise<ApprovalState> {
  if (state.status !== "APPROVED" && state.status !== "DENIED") return state;
  return await callJson<ApprovalState>(
    deps.sql,
    "private.mark_approval_delivered($1::uuid)",
    [state.approval_id],
  );
}
