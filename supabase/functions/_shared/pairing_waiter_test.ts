// The pairing waiter on a real database: a NOTIFY only says which workspace to re-read
// (a forged one answers nothing), every parked request is re-read by one batched query
// per interval, a workspace parks a few requests at most, shutdown and abort answer.
import postgres from "postgres";
import { assert, assertEquals } from "../../../tests/_helpers/assert.ts";
import { eventually } from "../../../tests/_helpers/approvals.ts";
import { randomDevice, randomWorkspace } from "../../../tests/_helpers/fixtures.ts";
import { dropDatabase, freshDatabase } from "../../../tests/_helpers/stack.ts";
import {
  createPairingWaiter,
  type PairingWaiter,
  WORKSPACE_PAIRED_CHANNEL,
} from "./pairing_waiter.ts";
import { createSql } from "./db.ts";
import { HttpError } from "./http_error.ts";
import { createLogger } from "./logger.ts";

const log = createLogger("error");
const HOUR = 3_600_000;

interface Setup {
  admin: postgres.Sql;
  waiter: PairingWaiter;
  /** queries the waiter sent through its pool */
  queries(): number;
}

async function withWaiter(
  options: { listen?: boolean; pollMs?: number; maxPerWorkspace?: number; listenUrl?: string },
  fn: (s: Setup) => Promise<void>,
) {
  const url = await freshDatabase();
  const admin = postgres(url, { max: 2, onnotice: () => {} });
  const sql = createSql(url, { max: 2 });
  let queries = 0;
  const counted = ((...args: Parameters<typeof sql>) => {
    queries++;
    return sql(...args);
  }) as unknown as typeof sql;
  const waiter = createPairingWaiter({
    sql: counted,
    listenUrl: options.listenUrl ?? url,
    log,
    listen: options.listen,
    pollMs: options.pollMs ?? HOUR,
    maxPerWorkspace: options.maxPerWorkspace,
  });
  try {
    await fn({ admin, waiter, queries: () => queries });
  } finally {
    await waiter.close();
    await sql.end({ timeout: 1 });
    await admin.end({ timeout: 1 });
    await dropDatabase(url);
  }
}

Deno.test("createPairingWaiter() re-reads a notified workspace: a forged NOTIFY answers nothing, a real pairing answers its state", async () => {
  await withWaiter({ listen: true }, async ({ admin, waiter, queries }) => {
    const ws = await randomWorkspace(admin);
    const slot = waiter.reserve(ws.workspaceId);
    const waiting = slot.wait(HOUR);
    await eventually(() => waiter.listening, "LISTEN");
    const before = queries();
    await admin`select pg_notify(${WORKSPACE_PAIRED_CHANNEL}, ${ws.workspaceId.toUpperCase()})`;
    await admin`select pg_notify(${WORKSPACE_PAIRED_CHANNEL}, '{"paired":true}')`;
    await eventually(() => queries() > before, "the re-read");
    assertEquals(waiter.stats().parked, 1, "a forged NOTIFY answered the wait");

    const device = await randomDevice(admin, { workspaceId: ws.workspaceId });
    await admin`select pg_notify(${WORKSPACE_PAIRED_CHANNEL}, ${ws.workspaceId})`;
    const state = await waiting;
    assertEquals(state?.paired, true);
    assertEquals(state?.devices.map((d) => d.device_id), [device.deviceId]);
    slot.release();
    assertEquals(waiter.parked(), 0);
  });
});

Deno.test("createPairingWaiter() keeps a notification that arrives between the reservation and the park", async () => {
  await withWaiter({ listen: true }, async ({ admin, waiter }) => {
    const ws = await randomWorkspace(admin);
    const slot = waiter.reserve(ws.workspaceId);
    await eventually(() => waiter.listening, "LISTEN");
    await randomDevice(admin, { workspaceId: ws.workspaceId });
    await admin`select pg_notify(${WORKSPACE_PAIRED_CHANNEL}, ${ws.workspaceId})`;
    // Most likely in before wait() is called (either order must answer).
    await new Promise((r) => setTimeout(r, 50));
    assertEquals((await slot.wait(HOUR))?.paired, true);
    slot.release();
  });
});

Deno.test("createPairingWaiter() re-reads every parked workspace with one query per interval, never one per request", async () => {
  await withWaiter({ listen: false, pollMs: 50 }, async ({ admin, waiter, queries }) => {
    const workspaces = [];
    for (let i = 0; i < 40; i++) workspaces.push(await randomWorkspace(admin));
    const slots = workspaces.flatMap((ws) => [1, 2].map(() => waiter.reserve(ws.workspaceId)));
    const waits = slots.map((slot) => slot.wait(HOUR));
    assertEquals(waiter.stats().parked, 80);
    const start = queries();
    const started = performance.now();
    await eventually(() => queries() >= start + 5, "five polls");
    // A timer never fires early: however late this check runs, the count stays under the
    // intervals that passed (80 per interval if each request read for itself).
    const intervals = (performance.now() - started) / 50;
    const sent = queries() - start;
    assert(sent <= intervals + 1, `${sent} queries in ${intervals.toFixed(1)} intervals`);
    assertEquals(queries(), waiter.stats().queries);

    await randomDevice(admin, { workspaceId: workspaces[7].workspaceId });
    assertEquals((await waits[14])?.paired, true);
    assertEquals((await waits[15])?.paired, true);
    assertEquals(waiter.stats().parked, 78);
    waiter.shutdown();
    const answers = await Promise.all(waits);
    assertEquals(answers.filter((a) => a === null).length, 78);
    for (const slot of slots) slot.release();
    assertEquals(waiter.parked(), 0);
  });
});

Deno.test("createPairingWaiter() parks maxPerWorkspace requests of a workspace at most: 429 with Retry-After beyond", async () => {
  await withWaiter({ listen: false, maxPerWorkspace: 3 }, async ({ admin, waiter }) => {
    const ws = await randomWorkspace(admin);
    const other = await randomWorkspace(admin);
    const slots = [1, 2, 3].map(() => waiter.reserve(ws.workspaceId));
    let refused: unknown;
    try {
      waiter.reserve(ws.workspaceId.toUpperCase());
    } catch (error) {
      refused = error;
    }
    assert(refused instanceof HttpError, "the fourth was not refused");
    assertEquals([refused.status, refused.code], [429, "rate_limited"]);
    assert(Number(refused.headers["retry-after"]) >= 1);
    waiter.reserve(other.workspaceId).release(); // another workspace is not affected
    slots[0].release();
    waiter.reserve(ws.workspaceId).release(); // a freed place is free again
    for (const slot of slots) slot.release();
    assertEquals(waiter.parked(), 0);
  });
});

Deno.test("createPairingWaiter() answers parked requests on abort and on shutdown, and later waits at once", async () => {
  await withWaiter({ listen: false }, async ({ admin, waiter }) => {
    const ws = await randomWorkspace(admin);
    const aborter = new AbortController();
    const aborted = waiter.reserve(ws.workspaceId);
    const abortedWait = aborted.wait(HOUR, aborter.signal);
    aborter.abort();
    assertEquals(await abortedWait, null);
    aborted.release();
    const slots = [1, 2, 3].map(() => waiter.reserve(ws.workspaceId));
    const waits = slots.map((s) => s.wait(HOUR));
    waiter.shutdown();
    assertEquals(await Promise.all(waits), [null, null, null]);
    assertEquals(await slots[0].wait(HOUR), null);
    for (const slot of slots) slot.release();
  });
});

Deno.test("createPairingWaiter() falls back to the batched poll when it cannot LISTEN", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  await withWaiter({
    listen: true,
    pollMs: 20,
    listenUrl: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`,
  }, async ({ admin, waiter }) => {
    const ws = await randomWorkspace(admin);
    const slot = waiter.reserve(ws.workspaceId);
    const waiting = slot.wait(HOUR);
    await randomDevice(admin, { workspaceId: ws.workspaceId });
    assertEquals((await waiting)?.paired, true, "woken by the poll");
    assertEquals(waiter.listening, false);
    slot.release();
  });
});
