// The retention job (docs/contract/data-model.md#retention): expired nonces, pair tokens and
// rate-limit windows go; with EVENT_RETENTION_DAYS, runs whose last event is older go whole, with
// their events, so every chain that remains still verifies.
import { assertEquals } from "./_helpers/assert.ts";
import { startStack } from "./_helpers/stack.ts";
import { randomWorkspace } from "./_helpers/fixtures.ts";
import { eventBody, postEvent } from "./_helpers/events.ts";

Deno.test("purge_expired() removes expired nonces, pair tokens and rate-limit windows only", async () => {
  const stack = await startStack();
  try {
    const sql = stack.sql;
    const ws = await randomWorkspace(sql);
    await sql`insert into private.bridge_nonces (workspace_id, nonce, expires_at) values
      (${ws.workspaceId}, 'expired-nonce', now() - interval '1 second'),
      (${ws.workspaceId}, 'live-nonce', now() + interval '5 minutes')`;
    await sql`insert into private.pair_tokens (token_hash, workspace_id, expires_at) values
      ('old', ${ws.workspaceId}, now() - interval '2 days'),
      ('recent', ${ws.workspaceId}, now() - interval '1 hour'),
      ('live', ${ws.workspaceId}, now() + interval '5 minutes')`;
    await sql`insert into private.rate_limits (bucket, window_start, hits) values
      ('events:x:3600', now() - interval '3 hours', 5),
      ('events:x:60', now() - interval '30 seconds', 5)`;
    const [{ result }] = await sql`select private.purge_expired() as result`;
    assertEquals(result.nonces, 1);
    assertEquals(result.pair_tokens, 1);
    assertEquals(result.rate_limit_windows, 1);
    assertEquals(result.events, 0);
    assertEquals((await sql`select nonce from private.bridge_nonces`).map((r) => r.nonce), [
      "live-nonce",
    ]);
    assertEquals(
      (await sql`select token_hash from private.pair_tokens order by 1`).map((r) => r.token_hash),
      ["live", "recent"],
    );
    assertEquals((await sql`select bucket from private.rate_limits`).map((r) => r.bucket), [
      "events:x:60",
    ]);
  } finally {
    await stack.close();
  }
});

Deno.test("with a retention period, old runs go whole and the remaining chains verify", async () => {
  const stack = await startStack({ env: { EVENT_RETENTION_DAYS: "30" } });
  try {
    const sql = stack.sql;
    const ws = await randomWorkspace(sql);
    const oldRun = crypto.randomUUID();
    const liveRun = crypto.randomUUID();
    for (const runId of [oldRun, oldRun, oldRun, liveRun, liveRun]) {
      assertEquals(
        (await postEvent(stack, ws, eventBody(ws.workspaceId, { run_id: runId }))).status,
        202,
      );
    }
    // the old run's last event was 40 days ago
    await sql`update public.runs set last_event_at = now() - interval '40 days'
              where id = ${oldRun}`;
    await sql`select private.append_event(${ws.workspaceId}, null, 'DEVICE_PAIRED', '{}')`;
    await sql`update public.events set created_at = now() - interval '40 days'
              where run_id is null`;

    const [{ kept }] = await sql`select private.purge_expired(null) as kept`;
    assertEquals(kept.events, 0, "no retention period: every event is kept");

    const days = stack.config.EVENT_RETENTION_DAYS ?? null;
    const [{ result }] = await sql`select private.purge_expired(${days}::integer) as result`;
    assertEquals(result.runs, 1);
    assertEquals(result.events, 4, "the old run's 3 events and the old workspace event");
    assertEquals((await sql`select id from public.runs`).map((r) => r.id), [liveRun]);
    const [{ count }] = await sql`select count(*)::int from public.events`;
    assertEquals(count, 2);
    const [verdict] = await sql`select * from private.verify_event_chain(${liveRun})`;
    assertEquals(verdict.ok, true, "a live run keeps its whole chain");
  } finally {
    await stack.close();
  }
});
