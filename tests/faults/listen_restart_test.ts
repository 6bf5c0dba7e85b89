// After the database restarts, the approval waiter's LISTEN connection comes back by
// itself: a decision wakes a parked wait through NOTIFY again, with the batched poll far
// away (APPROVAL_WAIT_POLL_MS=60000), without restarting the functions.
import postgres from "postgres";
import { assertEquals } from "../_helpers/assert.ts";
import { bridgeFetch, type Json, mintUserToken, startStack } from "../_helpers/stack.ts";
import { randomDevice, randomWorkspace } from "../_helpers/fixtures.ts";
import { startOwnPostgres } from "./own_postgres.ts";

Deno.test("after a database restart a decision wakes a parked wait through LISTEN again", async (t) => {
  const pg = await startOwnPostgres();
  const stack = await startStack({
    databaseUrl: pg.url,
    env: { APPROVAL_WAIT_POLL_MS: "60000", LOG_LEVEL: "error" },
  });
  let sql = postgres(pg.url, { max: 2, onnotice: () => {} });
  try {
    const probe = await fetch(`${stack.functionsUrl}/bridge-approval-wait`);
    await probe.body?.cancel();
    if (probe.status === 501) {
      await t.step({ name: "skipped: approvals are still 501 stubs", ignore: true, fn: () => {} });
      return;
    }
    const ws = await randomWorkspace(sql);
    const { userId } = await randomDevice(sql, { workspaceId: ws.workspaceId });
    const token = await mintUserToken(userId);
    const runId = crypto.randomUUID();
    await sql`insert into public.runs (id, workspace_id, provider)
              values (${runId}, ${ws.workspaceId}, 'claude-code')`;
    /** Parks a wait of `timeout` s, decides 300 ms later; the status the wait answered. */
    const waitAndDecide = async (timeout: number): Promise<string> => {
      const [approval] = await sql`
        insert into public.approvals (run_id, workspace_id, command, expires_at)
        values (${runId}, ${ws.workspaceId}, 'make deploy', now() + interval '10 minutes')
        returning id`;
      const waiting = bridgeFetch(
        stack,
        ws,
        "GET",
        `/bridge-approval-wait/${approval.id}?timeout=${timeout}`,
      ).then((r) => r.json() as Promise<Json>);
      await new Promise((r) => setTimeout(r, 300));
      const decision = await fetch(
        `${stack.functionsUrl}/mobile-approval-decision/${approval.id}`,
        {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: JSON.stringify({ decision: "APPROVE" }),
        },
      );
      assertEquals(decision.status, 200);
      await decision.body?.cancel();
      return (await waiting).status;
    };
    assertEquals(await waitAndDecide(5), "APPROVED", "LISTEN wakes the wait before the restart");
    await sql.end({ timeout: 1 });
    await pg.stop();
    await new Promise((r) => setTimeout(r, 5000));
    await pg.start();
    sql = postgres(pg.url, { max: 2, onnotice: () => {} });
    // Only NOTIFY (or the re-LISTEN's own check) can answer APPROVED within 5 s here:
    // the batched poll is 10 minutes away.
    assertEquals(await waitAndDecide(5), "APPROVED", "LISTEN is back after the restart");
  } finally {
    await sql.end({ timeout: 1 }).catch(() => {});
    await stack.close().catch(() => {});
    await pg.destroy();
  }
});
