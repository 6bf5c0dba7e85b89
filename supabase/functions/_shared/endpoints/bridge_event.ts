// bridge-event (docs/contract/api.md#bridge-event): stores a run event idempotently on its id,
// creates the run on its first event and applies the run status rules, in one SQL call
// (private.ingest_event) that also consumes the nonce and counts the rate limits.
import { defineEndpoint, jsonResponse } from "../endpoint.ts";
import { callJson } from "../db.ts";

interface IngestResult {
  event_id: string;
  run_id: string;
  run_status: string;
  duplicate: boolean;
  /** a run-ended notification was queued */
  pushed: boolean;
}

export const bridgeEvent = defineEndpoint({
  name: "bridge-event",
  method: "POST",
  auth: "bridge",
  summary: "Record a run event (idempotent on event_id)",
  description:
    "100 a minute and 1000 an hour per workspace. A retry of the same event_id answers duplicate: true and stores nothing twice.",
  status: 202,
  response: "BridgeEventResponse",
  errors: ["forbidden", "conflict", "rate_limited"],
  body: "BridgeEventRequest",
  async handle(ctx, deps) {
    const result = await callJson<IngestResult>(
      deps.sql,
      "private.ingest_event($1::uuid, $2::integer, $3::text, $4::jsonb, $5::integer, $6::integer)",
      [
        ctx.bridge.workspaceId,
        ctx.bridge.secretVersion,
        ctx.bridge.nonce,
        ctx.body,
        deps.config.RATE_LIMIT_EVENTS_PER_MINUTE,
        deps.config.RATE_LIMIT_EVENTS_PER_HOUR,
      ],
    );
    if (result.pushed) deps.push.deliverSoon();
    return jsonResponse({
      event_id: result.event_id,
      run_id: result.run_id,
      run_status: result.run_status,
      duplicate: result.duplicate,
    }, 202);
  },
});
