// The database stopped and restarted under load (docs/contract/targets.md#faults): while it is down
// every request is answered 503 with Retry-After (never another 5xx, never a hang); no partial
// write survives (gap-free seq, intact hash chains, every accepted event stored once);
// the same functions, not restarted, recover once it is back.
import { assert, assertEquals } from "../_helpers/assert.ts";
import { bridgeFetch, startStack } from "../_helpers/stack.ts";
import { randomWorkspace } from "../_helpers/fixtures.ts";
import { startOwnPostgres } from "./own_postgres.ts";

interface Sent {
  eventId: string;
  runId: string;
  status: number;
  retryAfter: string | null;
  phase: "up" | "down" | "back";
  /** the phase when the answer came */
  answered: "up" | "down" | "back";
}

Deno.test("the database stopped under load: 503 with Retry-After while down, no partial writes, recovery without restarting the functions", async (t) => {
  const pg = await startOwnPostgres();
  const stack = await startStack({
    databaseUrl: pg.url,
    env: {
      RATE_LIMIT_EVENTS_PER_MINUTE: "1000000",
      RATE_LIMIT_EVENTS_PER_HOUR: "1000000",
      LOG_LEVEL: "error",
    },
  });
  let running = true;
  let workers: Promise<void>[] = [];
  try {
    const ws = await randomWorkspace(stack.sql);
    const probe = await fetch(`${stack.functionsUrl}/bridge-event`, { method: "POST" });
    await probe.body?.cancel();
    if (probe.status === 501) {
      await t.step({
        name: "skipped: bridge-event is still a 501 stub on this branch",
        ignore: true,
        fn: () => {},
      });
      return;
    }
    const sent: Sent[] = [];
    const summary = () =>
      JSON.stringify(
        Object.entries(Object.groupBy(sent, (s) => `${s.phase} ${s.status}`)).map(([k, v]) =>
          `${k}: ${v?.length}`
        ),
      );
    let phase: Sent["phase"] = "up";
    const runs = Array.from({ length: 4 }, () => crypto.randomUUID());
    const post = async (runId: string, eventId: string, at: Sent["phase"]): Promise<Sent> => {
      const body = {
        workspace_id: ws.workspaceId,
        run_id: runId,
        provider: "claude-code",
        event_type: "TOOL_USE",
        event_ts: new Date().toISOString(),
        payload: { message: `event ${eventId}` },
        event_id: eventId,
      };
      let res: Response;
      try {
        res = await bridgeFetch(stack, ws, "POST", "/bridge-event", body);
      } catch {
        return { eventId, runId, status: 0, retryAfter: null, phase: at, answered: phase };
      }
      await res.body?.cancel();
      return {
        eventId,
        runId,
        status: res.status,
        retryAfter: res.headers.get("retry-after"),
        phase: at,
        answered: phase,
      };
    };
    workers = runs.map(async (runId) => {
      while (running) {
        const at = phase;
        sent.push(await post(runId, crypto.randomUUID(), at));
        await new Promise((r) => setTimeout(r, 5));
      }
    });
    // Conditions, never timing windows: each wait is bounded generously (a loaded 2-core
    // machine can take many seconds to stop or start Postgres) and fails with a summary.
    const waitFor = async (what: string, ok: () => boolean, ms = 180_000) => {
      const until = Date.now() + ms;
      while (!ok()) {
        if (Date.now() > until) throw new Error(`timed out waiting for ${what}: ${summary()}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await waitFor("accepted events", () => sent.filter((s) => s.status === 202).length >= 20);
    await pg.stop(); // resolves once the postmaster has exited: nothing accepts connections
    phase = "down";
    const downAt = sent.length;
    await waitFor(
      "requests while the database is down",
      () => sent.slice(downAt).filter((s) => s.phase === "down").length >= 40,
    );
    // "back" before it starts again: a request sent while down whose answer comes after
    // this line may have been served by the restarted database (it was in flight, waiting
    // for a connection), so only answers that came while the phase was still "down" are
    // held to 503. (Judging by the send time alone made this test fail on a loaded machine.)
    phase = "back";
    await pg.start();
    const backAt = sent.length;
    await waitFor(
      "recovery",
      () => sent.slice(backAt).filter((s) => s.phase === "back" && s.status === 202).length >= 20,
    );
    running = false;
    await Promise.all(workers);

    const bad = sent.filter((s) => ![202, 503].includes(s.status));
    assertEquals(
      bad.map((s) => `${s.phase}: ${s.status}`),
      [],
      "only 202 or 503, never another status",
    );
    const down = sent.filter((s) => s.phase === "down" && s.answered === "down");
    assert(down.length >= 40 - runs.length, `too few answers while down: ${summary()}`);
    assertEquals(
      down.filter((s) => s.status !== 503).map((s) => s.status),
      [],
      "503 while the database is down",
    );
    assert(
      sent.filter((s) => s.status === 503).every((s) => Number(s.retryAfter) > 0),
      "every 503 carries Retry-After",
    );

    // The client retries what got 503 with the same event_id; then every event is stored
    // exactly once and every run's chain is intact.
    // (A pooled connection that died with the server can still fail its first use with
    // 503 after recovery; the client's retry with backoff covers it.)
    const retry = async (s: Sent): Promise<number> => {
      let status = 0;
      const until = Date.now() + 120_000;
      for (let attempt = 0; status !== 202 && Date.now() < until; attempt++) {
        if (attempt) await new Promise((r) => setTimeout(r, Math.min(1000, 100 * attempt)));
        status = (await post(s.runId, s.eventId, "back")).status;
      }
      return status;
    };
    const refused = sent.filter((s) => s.status === 503);
    for (let i = 0; i < refused.length; i += 8) {
      const statuses = await Promise.all(refused.slice(i, i + 8).map(retry));
      assertEquals(statuses, statuses.map(() => 202), "retries after recovery are accepted");
    }
    const ids = sent.map((s) => s.eventId);
    const [{ stored }] = await stack.sql`
      select count(*)::int as stored from public.events where id = any(${ids}::uuid[])`;
    assertEquals(stored, new Set(ids).size, "every event stored exactly once");
    for (const runId of runs) {
      const [chain] = await stack.sql`select * from private.verify_event_chain(${runId})`;
      assert(chain.ok, `run ${runId}: ${chain.reason}`);
      const [run] = await stack.sql`
        select r.last_seq, (select count(*)::int from public.events e where e.run_id = r.id) as n
        from public.runs r where r.id = ${runId}`;
      assertEquals(run.last_seq, run.n, "runs.last_seq matches its events (no partial write)");
    }
  } finally {
    running = false;
    await Promise.allSettled(workers);
    await stack.close();
    await pg.destroy();
  }
});
