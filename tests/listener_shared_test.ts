// The isolate's one LISTEN connection (supabase/functions/_shared/listener.ts): both waiters
// share it, it closes cleanly after LISTEN_IDLE_CLOSE_SECONDS with nothing parked, and the
// next park reopens it without losing a wake-up. The polls are a minute away throughout,
// so only NOTIFY (or the check when LISTEN comes up) can answer within the test.
import { assert, assertEquals } from "./_helpers/assert.ts";
import { type Stack, startStack } from "./_helpers/stack.ts";
import { randomDevice, randomWorkspace } from "./_helpers/fixtures.ts";
import { eventually, insertPendingApproval } from "./_helpers/approvals.ts";
import { WORKSPACE_PAIRED_CHANNEL } from "../supabase/functions/_shared/pairing_waiter.ts";
import { LISTEN_APPLICATION_NAME } from "../supabase/functions/_shared/listener.ts";
import { createLogger } from "../supabase/functions/_shared/logger.ts";

const HOUR = 3_600_000;
const far = () => Date.now() + HOUR;

async function withStack(
  env: Record<string, string>,
  fn: (stack: Stack, warnings: string[]) => Promise<void>,
) {
  const warnings: string[] = [];
  const log = createLogger("warn", {}, (line) => warnings.push(line));
  const stack = await startStack({
    env: { APPROVAL_WAIT_POLL_MS: "60000", PAIR_STATUS_POLL_MS: "60000", ...env },
    overrides: { log },
  });
  try {
    await fn(stack, warnings);
  } finally {
    await stack.close();
  }
}

/** the LISTEN backends of this test's database */
async function listenBackends(stack: Stack): Promise<number[]> {
  const rows = await stack.sql`
    select pid from pg_stat_activity
    where application_name = ${LISTEN_APPLICATION_NAME} and datname = current_database()`;
  return rows.map((r) => r.pid);
}

async function decide(stack: Stack, userId: string, approvalId: string) {
  await stack.sql`
    select private.decide_approval(${userId}::uuid, ${approvalId}::uuid, 'APPROVE',
                                   null::text, null)`;
}

Deno.test("both waiters share one LISTEN connection, and each is woken through it", async () => {
  await withStack({}, async (stack) => {
    const { waiter, pairing, listener } = stack.deps;
    const ws = await randomWorkspace(stack.sql);
    const { userId } = await randomDevice(stack.sql, { workspaceId: ws.workspaceId });
    const unpaired = await randomWorkspace(stack.sql);
    assertEquals(await listenBackends(stack), [], "a connection before anything parked");

    const approvalId = await insertPendingApproval(stack.sql, ws.workspaceId);
    const approval = waiter.wait(approvalId, { timeoutMs: HOUR, expiresAt: far() });
    const slot = pairing.reserve(unpaired.workspaceId);
    const paired = slot.wait(HOUR);
    await eventually(
      () => waiter.stats().listening && pairing.listening,
      "both waiters to LISTEN",
    );
    assertEquals([waiter.stats().parked, pairing.stats().parked], [1, 1]);
    const pids = await listenBackends(stack);
    assertEquals(pids.length, 1, "one LISTEN connection for both waiters");
    assertEquals(listener.stats().opens, 1);

    await decide(stack, userId, approvalId);
    assertEquals((await approval)?.status, "APPROVED");
    const device = await randomDevice(stack.sql, { workspaceId: unpaired.workspaceId });
    await stack.sql`select pg_notify(${WORKSPACE_PAIRED_CHANNEL}, ${unpaired.workspaceId})`;
    const state = await paired;
    slot.release();
    assertEquals(state?.devices.map((d) => d.device_id), [device.deviceId]);
    assertEquals(await listenBackends(stack), pids, "still the same one connection");
  });
});

Deno.test("the LISTEN connection closes cleanly when nothing waits, and the next park reopens it without losing a decision", async () => {
  await withStack({ LISTEN_IDLE_CLOSE_SECONDS: "1" }, async (stack, warnings) => {
    const { waiter, pairing, listener } = stack.deps;
    const ws = await randomWorkspace(stack.sql);
    const { userId } = await randomDevice(stack.sql, { workspaceId: ws.workspaceId });

    // A pairing wait and an approval wait; the connection stays while either is parked.
    const unpaired = await randomWorkspace(stack.sql);
    const slot = pairing.reserve(unpaired.workspaceId);
    const pairWait = slot.wait(HOUR);
    const first = await insertPendingApproval(stack.sql, ws.workspaceId);
    const firstWait = waiter.wait(first, { timeoutMs: HOUR, expiresAt: far() });
    await eventually(() => waiter.stats().listening, "LISTEN");
    const [pid] = await listenBackends(stack);
    await decide(stack, userId, first);
    assertEquals((await firstWait)?.status, "APPROVED");
    assertEquals(waiter.stats().parked, 0);
    // The pairing wait still holds it open: nothing closes while it is parked, however
    // long that is (its idle timer only starts when the last park leaves).
    assert(!listener.stats().idleCloses, "closed while a pairing wait was parked");
    assertEquals(await listenBackends(stack), [pid]);
    slot.release();
    assertEquals(await pairWait, null);

    // Nothing parked: the connection goes (bounded generously for a loaded machine).
    await eventually(
      async () => (await listenBackends(stack)).length === 0,
      "the idle LISTEN connection to close",
      60_000,
    );
    assertEquals(listener.stats().idleCloses, 1);
    assertEquals(listener.listening, false);
    assertEquals([waiter.stats().listening, pairing.listening], [false, false]);
    // A clean close: no warning, no reconnect.
    assertEquals(listener.stats().opens, 1, "reconnected after an idle close");
    assertEquals(warnings, [], "an idle close is not a failure");

    // Decided while nobody listens, then parked: the check when LISTEN comes up answers it
    // (the poll is a minute away), as for a park that arrives while the connection reopens.
    const second = await insertPendingApproval(stack.sql, ws.workspaceId);
    const third = await insertPendingApproval(stack.sql, ws.workspaceId);
    await decide(stack, userId, second);
    const secondWait = waiter.wait(second, { timeoutMs: HOUR, expiresAt: far() });
    assertEquals((await secondWait)?.status, "APPROVED");

    // And a NOTIFY on the reopened connection wakes a parked wait (parked at once, so the
    // idle timer the answer above started cannot close the connection in between).
    const thirdWait = waiter.wait(third, { timeoutMs: HOUR, expiresAt: far() });
    await eventually(() => waiter.stats().listening, "LISTEN again");
    const reopened = await listenBackends(stack);
    assertEquals(reopened.length, 1);
    assert(reopened[0] !== pid, "the same backend: it never closed");
    assertEquals(listener.stats().opens, 2);
    await decide(stack, userId, third);
    assertEquals((await thirdWait)?.status, "APPROVED");
    assertEquals(warnings, []);
  });
});

Deno.test("LISTEN_IDLE_CLOSE_SECONDS=0 keeps the LISTEN connection open with nothing parked", async () => {
  await withStack({ LISTEN_IDLE_CLOSE_SECONDS: "0" }, async (stack) => {
    const { waiter, listener } = stack.deps;
    const ws = await randomWorkspace(stack.sql);
    const id = await insertPendingApproval(stack.sql, ws.workspaceId);
    const controller = new AbortController();
    const waiting = waiter.wait(id, {
      timeoutMs: HOUR,
      expiresAt: far(),
      signal: controller.signal,
    });
    await eventually(() => waiter.stats().listening, "LISTEN");
    controller.abort();
    assertEquals(await waiting, null);
    // Long past a 1 s idle close, still open (a negative check: it cannot fail by lateness).
    await new Promise((r) => setTimeout(r, 1500));
    assertEquals((await listenBackends(stack)).length, 1);
    assertEquals(listener.stats().idleCloses, 0);
  });
});
