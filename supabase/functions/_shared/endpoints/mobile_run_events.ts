// mobile-run-events (issue 18, docs/web-api.md): a run's timeline after a seq, with every
// field the browser needs to recompute the hash chain. With ?wait=N and nothing after
// after_seq, the request parks in the isolate's read waiter until the run's chain grows
// (the batched re-read of run heads; approval changes of its workspace wake it at once).
import type * as v from "valibot";
import type { MobileRunEventsResponse } from "@shared/api_schemas.ts";
import { callJson } from "../db.ts";
import { defineEndpoint, jsonResponse } from "../endpoint.ts";
import { runKey } from "../mobile_reads.ts";
import { loadWaiters } from "../load_waiters.ts";

type Timeline = v.InferOutput<typeof MobileRunEventsResponse>;

export const mobileRunEvents = defineEndpoint({
  name: "mobile-run-events",
  method: "GET",
  auth: "mobile",
  summary:
    "A run's timeline after a seq, with what the browser needs to verify the hash chain; long-polls with wait",
  description:
    "hash = hex(sha256(prev_hash|seq|type|event_ts|created_at|payload_text)), prev_hash empty for seq 1 (docs/web-api.md).",
  status: 200,
  response: "MobileRunEventsResponse",
  errors: ["invalid_request", "not_found", "rate_limited"],
  query: "MobileRunEventsQuery",
  async handle(ctx, deps) {
    const { run_id, after_seq, limit, wait } = ctx.query;
    const read = () =>
      callJson<Timeline>(
        deps.sql,
        "private.mobile_run_events($1::uuid, $2::uuid, $3::integer, $4::integer)",
        [ctx.user.id, run_id, after_seq, limit],
      );
    const slot = wait > 0 ? (await loadWaiters(deps)).reads.reserve(ctx.user.id) : undefined;
    try {
      const timeline = await read();
      if (!slot || timeline.events.length > 0) return jsonResponse(timeline);
      const head = await slot.wait({
        key: runKey(run_id),
        topics: [timeline.workspace_id],
        done: (s) => s.kind === "run" && s.last_seq > after_seq,
        timeoutMs: wait * 1000,
        signal: ctx.signal,
      });
      return jsonResponse(head ? await read() : timeline);
    } finally {
      slot?.release();
    }
  },
});
