// The approval waiter on a real database (docs/contract/waiting.md): LISTEN that survives a dropped
// connection, the batched poll without LISTEN, expiry, abort and shutdown.
import postgres from "postgres";
import { assert, assertEquals } from "./_helpers/assert.ts";
import { dropDatabase, freshDatabase } from "./_helpers/stack.ts";
import { randomDevice, randomWorkspace } from "./_helpers/fixtures.ts";
import { eventually, insertPendingApproval } from "./_helpers/approvals.ts";
import {
  type ApprovalWaiter,
  createApprovalWaiter,
} from "../supabase/functions/_shared/approval_waiter.ts";
import { createSql } from "../supabase/functions/_shared/db.ts";
import { createLogger } from "../supabase/functions/_shared/logger.ts";

interface Setup {
  url: string;
  admin: postgres.Sql;
  waiter: ApprovalWaiter;
  /** queries the waiter sent through its pool */
  queries(): number;
  workspaceId: string;
  userId: string;
  close(): Promise<void>;
}

async function setup(
  options: { listen: boolean; pollMs: number; safetyPollMs?: number },
): Promise<Setup> {
  const url = await freshDatabase();
  const admin = postgres(url, { max: 2, onnotice: () => {} });
  const sql = createSql(url, { max: 2 });
  let queries = 0;
  const counted = ((...args: Parameters<typeof sql>) => {
    queries++;
    return sql(...args);
  }) as unknown as typeof sql;
  const waiter = createApprovalWaiter({
    config: {
      SUPABASE_DB_URL: url,
      APPROVAL_WAIT_LISTEN: options.listen,
      APPROVAL_WAIT_POLL_MS: options.pollMs,
    },
    sql: counted,
    log: createLogger("error"),
  }, { safetyPollMs: options.safetyPollMs });
  const ws = await randomWorkspace(admin);
  const device = await randomDevice(admin, { workspaceId: ws.workspaceId });
  return {
    url,
    admin,
    waiter,
    queries: () => queries,
    workspaceId: ws.workspaceId,
    userId: device.userId,
    async close() {
      await waiter.close();
      await sql.end({ timeout: 1 });
      await admin.end({ timeout: 1 });
      await dropDatabase(url);
    },
  };
}

async function decide(s: Setup, approvalId: string, decision: "APPROVE" | "DENY", note?: string) {
  const [row] = await s.admin`
    select private.decide_approval(${s.userId}::uuid, ${approvalId}::uuid, ${decision},
                                   ${note ?? null}::text, null) as r`;
  return row.r;
}

async function waiterBackends(s: Setup): Promise<number[]> {
  const rows = await s.admin`
    select pid from pg_stat_activity
    where application_name = 'agentops-waiter' and datname = current_database()`;
  return rows.map((r) => r.pid);
}

const HOUR = 3_600_000;
const far = () => Date.now() + HOUR;

Deno.test("the waiter opens no connection until the first request parks", async () => {
  const s = await setup({ listen: true, pollMs: 60_000, safetyPollMs: HOUR });
  try {
    assertEquals(await waiterBackends(s), []);
    const id = await insertPendingApproval(s.admin, s.workspaceId);
    const waiting = s.waiter.wait(id, { timeoutMs: HOUR, expiresAt: far() });
    await eventually(() => s.waiter.stats().listening, "LISTEN");
    assertEquals((await waiterBackends(s)).length, 1);
    await decide(s, id, "APPROVE");
    assertEquals((await waiting)?.status, "APPROVED");
  } finally {
    await s.close();
  }
});

Deno.test("a decision with a note longer than a NOTIFY payload wakes the waiter with the whole note", async () => {
  const s = await setup({ listen: true, pollMs: 60_000, safetyPollMs: HOUR });
  try {
    // 2,000 control characters: 12,000 bytes once JSON-escaped, over NOTIFY's 8,000.
    const note = "\u0001".repeat(2000);
    const id = await insertPendingApproval(s.admin, s.workspaceId);
    const waiting = s.waiter.wait(id, { timeoutMs: HOUR, expiresAt: far() });
    await eventually(() => s.waiter.stats().listening, "LISTEN");
    await decide(s, id, "DENY", note);
    const state = await waiting;
    assertEquals([state?.status, state?.note], ["DENIED", note]);
  } finally {
    await s.close();
  }
});

Deno.test("a forged NOTIFY from a plain database login does not answer a parked wait, and a real one carries only the approval id", async () => {
  const s = await setup({ listen: true, pollMs: 60_000, safetyPollMs: HOUR });
  // A login with no privileges at all: what "any database login" can do.
  const role = `plain_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
  await s.admin.unsafe(`create role ${role} login password 'plain'`);
  const plainUrl = new URL(s.url);
  plainUrl.username = role;
  plainUrl.password = "plain";
  const plain = postgres(plainUrl.toString(), { max: 1, onnotice: () => {} });
  try {
    const id = await insertPendingApproval(s.admin, s.workspaceId);
    const waiting = s.waiter.wait(id, { timeoutMs: HOUR, expiresAt: far() });
    await eventually(() => s.waiter.stats().listening, "LISTEN");
    const heard: string[] = [];
    await plain.listen("approval_decided", (payload) => heard.push(payload));

    const forged = JSON.stringify({
      approval_id: id,
      status: "APPROVED",
      note: "forged",
      decided_at: new Date().toISOString(),
      expires_at: new Date(far()).toISOString(),
    });
    const before = s.waiter.stats().queries;
    await plain`select pg_notify('approval_decided', ${forged})`;
    await plain`select pg_notify('approval_decided', ${id})`;
    // The bare id makes the waiter re-read the row (still PENDING): it stays parked.
    await eventually(() => s.waiter.stats().queries > before, "the re-read");
    await eventually(() => heard.length === 2, "the forged notifications to be delivered");
    assertEquals(s.waiter.stats().parked, 1, "a forged NOTIFY answered the wait");
    const [row] = await s.admin`select status from public.approvals where id = ${id}`;
    assertEquals(row.status, "PENDING");

    await decide(s, id, "DENY", "the real note");
    const state = await waiting;
    assertEquals([state?.status, state?.note], ["DENIED", "the real note"]);
    await eventually(() => heard.length === 3, "the real notification");
    assertEquals(heard[2], id, "the payload is the approval id and nothing else");
  } finally {
    await plain.end({ timeout: 1 });
    await s.admin.unsafe(`drop role if exists ${role}`);
    await s.close();
  }
});

Deno.test("a LISTEN connection terminated from SQL is restored and still wakes the waiters parked across the gap", async () => {
  // No safety poll within the test: only NOTIFY and the check on re-listen can wake.
  const s = await setup({ listen: true, pollMs: 60_000, safetyPollMs: HOUR });
  const dbName = new URL(s.url).pathname.slice(1);
  // ALTER DATABASE … allow_connections must run from another database.
  const cluster = postgres(Deno.env.get("TEST_DATABASE_ADMIN_URL")!, {
    max: 1,
    onnotice: () => {},
  });
  try {
    const before = await insertPendingApproval(s.admin, s.workspaceId);
    const waitBefore = s.waiter.wait(before, { timeoutMs: HOUR, expiresAt: far() });
    await eventually(() => s.waiter.stats().listening, "LISTEN");
    const [oldPid] = await waiterBackends(s);
    const queriesBefore = s.waiter.stats().queries;

    // Cut the LISTEN connection and keep it from coming back while a decision is made:
    // its NOTIFY reaches nobody.
    await cluster.unsafe(`alter database "${dbName}" allow_connections false`);
    await s.admin`select pg_terminate_backend(${oldPid})`;
    await eventually(async () => (await waiterBackends(s)).length === 0, "the backend to go");
    await eventually(() => !s.waiter.stats().listening, "the waiter to see LISTEN is down");
    const during = await insertPendingApproval(s.admin, s.workspaceId);
    const waitDuring = s.waiter.wait(during, { timeoutMs: HOUR, expiresAt: far() });
    await decide(s, before, "DENY", "decided in the gap");
    await decide(s, during, "APPROVE");
    await cluster.unsafe(`alter database "${dbName}" allow_connections true`);

    const answerBefore = await waitBefore;
    assertEquals([answerBefore?.status, answerBefore?.note], ["DENIED", "decided in the gap"]);
    assertEquals((await waitDuring)?.status, "APPROVED");
    assert(s.waiter.stats().queries > queriesBefore, "no check after re-listening");
    const [newPid] = await waiterBackends(s);
    assert(newPid !== undefined && newPid !== oldPid, "LISTEN did not come back");

    // And NOTIFY works again on the new connection.
    const after = await insertPendingApproval(s.admin, s.workspaceId);
    const waitAfter = s.waiter.wait(after, { timeoutMs: HOUR, expiresAt: far() });
    await decide(s, after, "APPROVE");
    assertEquals((await waitAfter)?.status, "APPROVED");
  } finally {
    await cluster.unsafe(`alter database "${dbName}" allow_connections true`).catch(() => {});
    await cluster.end({ timeout: 1 });
    await s.close();
  }
});

Deno.test("without LISTEN the waiter polls once per interval for all parked approvals, not once per waiter", async () => {
  const s = await setup({ listen: false, pollMs: 50 });
  try {
    const ids: string[] = [];
    for (let i = 0; i < 50; i++) ids.push(await insertPendingApproval(s.admin, s.workspaceId));
    const waits = ids.map((id) => s.waiter.wait(id, { timeoutMs: HOUR, expiresAt: far() }));
    assertEquals(s.waiter.stats().parked, 50);
    const start = s.queries();
    const started = performance.now();
    await eventually(() => s.queries() >= start + 5, "five polls");
    // One query per 50 ms interval at most (a timer never fires early), never 50 per
    // interval: however late this check runs, the count stays under the intervals passed.
    const intervals = (performance.now() - started) / 50;
    const sent = s.queries() - start;
    assert(sent <= intervals + 1, `${sent} queries in ${intervals.toFixed(1)} intervals`);
    assertEquals(s.queries(), s.waiter.stats().queries);
    await decide(s, ids[7], "APPROVE");
    assertEquals((await waits[7])?.status, "APPROVED");
    assertEquals(s.waiter.stats().parked, 49);
    assertEquals(await waiterBackends(s), []);
    s.waiter.shutdown();
    const answers = await Promise.all(waits);
    assertEquals(answers.filter((a) => a === null).length, 49);
  } finally {
    await s.close();
  }
});

Deno.test("the waiter expires an approval at its expires_at and answers EXPIRED", async () => {
  const s = await setup({ listen: false, pollMs: 60_000 });
  try {
    const id = await insertPendingApproval(s.admin, s.workspaceId);
    const [row] = await s.admin`
      update public.approvals set expires_at = now() + interval '300 milliseconds'
      where id = ${id} returning expires_at`;
    const state = await s.waiter.wait(id, { timeoutMs: HOUR, expiresAt: row.expires_at.getTime() });
    assertEquals(state?.status, "EXPIRED");
    const events = await s.admin`select type from public.events where type = 'APPROVAL_EXPIRED'`;
    assertEquals(events.length, 1);
  } finally {
    await s.close();
  }
});

Deno.test("a waiter whose client goes away is released", async () => {
  const s = await setup({ listen: false, pollMs: 60_000 });
  try {
    const id = await insertPendingApproval(s.admin, s.workspaceId);
    const controller = new AbortController();
    const waiting = s.waiter.wait(id, {
      timeoutMs: HOUR,
      expiresAt: far(),
      signal: controller.signal,
    });
    assertEquals(s.waiter.stats().parked, 1);
    controller.abort();
    assertEquals(await waiting, null);
    assertEquals(s.waiter.stats().parked, 0);
  } finally {
    await s.close();
  }
});

Deno.test("after shutdown every parked wait is answered and a new wait answers at once", async () => {
  const s = await setup({ listen: true, pollMs: 60_000, safetyPollMs: HOUR });
  try {
    const id = await insertPendingApproval(s.admin, s.workspaceId);
    const waits = [1, 2, 3].map(() => s.waiter.wait(id, { timeoutMs: HOUR, expiresAt: far() }));
    s.waiter.shutdown();
    assertEquals(s.waiter.stats().parked, 0);
    assertEquals(await Promise.all(waits), [null, null, null]);
    assertEquals(await s.waiter.wait(id, { timeoutMs: HOUR, expiresAt: far() }), null);
  } finally {
    await s.close();
  }
});

Deno.test("the waiter's re-read of a decided approval writes nothing: it runs in a read-only transaction", async () => {
  const s = await setup({ listen: true, pollMs: 60_000, safetyPollMs: HOUR });
  try {
    const id = await insertPendingApproval(s.admin, s.workspaceId);
    await decide(s, id, "APPROVE", "go");
    const [row] = await s.admin.begin(
      "read only",
      (tx) => tx`select private.settle_approvals(${[id]}::uuid[]) as r`,
    );
    assertEquals(row.r.expired, 0);
    assertEquals(
      row.r.settled.map((a: { approval_id: string; status: string }) => [a.approval_id, a.status]),
      [[id, "APPROVED"]],
    );
    const [receipt] = await s.admin`select delivered_at from public.approvals where id = ${id}`;
    assertEquals(receipt.delivered_at, null);
  } finally {
    await s.close();
  }
});

Deno.test("the receipts of decisions handed to parked waits are written once, and close() waits for them", async () => {
  const s = await setup({ listen: true, pollMs: 60_000, safetyPollMs: HOUR });
  try {
    const ids = [
      await insertPendingApproval(s.admin, s.workspaceId),
      await insertPendingApproval(s.admin, s.workspaceId),
      await insertPendingApproval(s.admin, s.workspaceId),
    ];
    // two clients on the first approval: still one receipt
    const waits = [...ids, ids[0]].map((id) =>
      s.waiter.wait(id, { timeoutMs: HOUR, expiresAt: far() })
    );
    await eventually(() => s.waiter.stats().listening, "LISTEN");
    await decide(s, ids[0], "APPROVE");
    await decide(s, ids[1], "DENY");
    const answers = await Promise.all(waits.slice(0, 2));
    assertEquals(answers.map((a) => a?.status), ["APPROVED", "DENIED"]);
    assertEquals((await waits[3])?.status, "APPROVED");
    await s.waiter.close(); // ids[2] is answered null (shutdown): no receipt for it
    assertEquals(await waits[2], null);
    const rows = await s.admin`
      select a.id, a.delivered_at is not null as delivered,
             (select count(*)::int from public.events e
              where e.type = 'APPROVAL_DELIVERED' and e.payload ->> 'approval_id' = a.id::text) as n
      from public.approvals a where a.id = any(${ids}::uuid[])`;
    const byId = new Map(rows.map((r) => [r.id, [r.delivered, r.n]]));
    assertEquals(ids.map((id) => byId.get(id)), [[true, 1], [true, 1], [false, 0]]);
  } finally {
    await s.close();
  }
});

Deno.test("ids that are not UUIDs never reach the waiter's SQL text: the real ones parked beside them are still answered", async () => {
  const s = await setup({ listen: false, pollMs: 50 });
  try {
    const id = await insertPendingApproval(s.admin, s.workspaceId);
    const hostile = `${id}}'::uuid[]); drop table public.approvals; --`;
    const bad = s.waiter.wait(hostile, { timeoutMs: HOUR, expiresAt: far() });
    // bounded: were every batch's query broken by the hostile id, this answers null, not hangs
    const good = s.waiter.wait(id, { timeoutMs: 10_000, expiresAt: far() });
    await decide(s, id, "APPROVE");
    assertEquals((await good)?.status, "APPROVED");
    s.waiter.shutdown();
    assertEquals(await bad, null);
    const [row] = await s.admin`select count(*)::int as n from public.approvals`;
    assertEquals(row.n, 1);
  } finally {
    await s.close();
  }
});
