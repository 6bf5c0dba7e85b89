import postgres from "postgres";
import { assertEquals } from "../../../tests/_helpers/assert.ts";
import { dropDatabase, freshDatabase } from "../../../tests/_helpers/stack.ts";
import { createPairingWaiter, WORKSPACE_PAIRED_CHANNEL } from "./pairing_waiter.ts";
import { createLogger } from "./logger.ts";

const log = createLogger("error");

async function withDatabase(fn: (url: string, sql: postgres.Sql) => Promise<void>) {
  const url = await freshDatabase();
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await fn(url, sql);
  } finally {
    await sql.end({ timeout: 1 });
    await dropDatabase(url);
  }
}

Deno.test("createPairingWaiter() wakes the watchers of the notified workspace, and only them", async () => {
  await withDatabase(async (url, sql) => {
    const waiter = createPairingWaiter({ listenUrl: url, log, recheckMs: 60_000 });
    try {
      const a = crypto.randomUUID();
      const b = crypto.randomUUID();
      const watchA = await waiter.watch(a);
      const watchB = await waiter.watch(b);
      assertEquals(waiter.listening, true);
      const woken = watchA.next(30_000);
      await sql`select pg_notify(${WORKSPACE_PAIRED_CHANNEL}, ${a.toUpperCase()})`;
      assertEquals(await woken, "notified");
      assertEquals(await watchB.next(0), "timeout");
      watchA.close();
      watchB.close();
    } finally {
      await waiter.close();
    }
  });
});

Deno.test("createPairingWaiter() keeps a notification that arrives before next() is called", async () => {
  await withDatabase(async (url, sql) => {
    const waiter = createPairingWaiter({ listenUrl: url, log, recheckMs: 60_000 });
    try {
      const ws = crypto.randomUUID();
      const watch = await waiter.watch(ws);
      await sql`select pg_notify(${WORKSPACE_PAIRED_CHANNEL}, ${ws})`;
      assertEquals(await watch.next(30_000), "notified");
      assertEquals(await watch.next(0), "timeout", "a notification wakes once");
      watch.close();
    } finally {
      await waiter.close();
    }
  });
});

Deno.test("createPairingWaiter() answers every watcher at once on shutdown, and on abort", async () => {
  await withDatabase(async (url) => {
    const waiter = createPairingWaiter({ listenUrl: url, log, recheckMs: 60_000 });
    try {
      const aborter = new AbortController();
      const aborted = (await waiter.watch(crypto.randomUUID())).next(30_000, aborter.signal);
      aborter.abort();
      assertEquals(await aborted, "aborted");
      const watches = await Promise.all([1, 2, 3].map(() => waiter.watch(crypto.randomUUID())));
      const pending = watches.map((w) => w.next(30_000));
      waiter.shutdown();
      assertEquals(await Promise.all(pending), ["stopped", "stopped", "stopped"]);
      assertEquals(watches[0].stopped, true);
    } finally {
      await waiter.close();
    }
  });
});

Deno.test("createPairingWaiter() falls back to re-checks when it cannot LISTEN", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const waiter = createPairingWaiter({
    listenUrl: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`,
    log,
    recheckMs: 20,
    listenTimeoutMs: 5_000,
  });
  try {
    const watch = await waiter.watch(crypto.randomUUID());
    assertEquals(waiter.listening, false);
    assertEquals(await watch.next(30_000), "timeout", "woken by the re-check interval");
    watch.close();
  } finally {
    await waiter.close();
  }
});
