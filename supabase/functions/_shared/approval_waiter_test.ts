// Unit tests of the waiter's deadline handling, without a database (the poll is set far
// out and LISTEN off, so no query is ever sent).
import { strict as assert } from "node:assert";
import { createApprovalWaiter } from "./approval_waiter.ts";
import { createLogger } from "./logger.ts";
import type { Sql } from "./db.ts";

function offlineWaiter() {
  const sql = (() => {
    throw new Error("no query expected");
  }) as unknown as Sql;
  return createApprovalWaiter({
    config: {
      SUPABASE_DB_URL: "postgres://unused",
      APPROVAL_WAIT_LISTEN: false,
      APPROVAL_WAIT_POLL_MS: 60_000,
    },
    sql,
    log: createLogger("error"),
  });
}

Deno.test("waits time out in deadline order under one timer, answering null (PENDING)", async () => {
  const waiter = offlineWaiter();
  const order: number[] = [];
  const far = Date.now() + 3_600_000;
  const waits = [50, 10, 30, 20, 40].map((ms) =>
    waiter.wait(crypto.randomUUID(), { timeoutMs: ms, expiresAt: far }).then((state) => {
      assert.equal(state, null);
      order.push(ms);
    })
  );
  assert.equal(waiter.stats().parked, 5);
  await Promise.all(waits);
  assert.deepEqual(order, [10, 20, 30, 40, 50]);
  assert.equal(waiter.stats().parked, 0);
  await waiter.close();
});

Deno.test("a wait with timeout 0 or an aborted signal answers at once", async () => {
  const waiter = offlineWaiter();
  const far = Date.now() + 3_600_000;
  assert.equal(await waiter.wait(crypto.randomUUID(), { timeoutMs: 0, expiresAt: far }), null);
  const aborted = AbortSignal.abort();
  assert.equal(
    await waiter.wait(crypto.randomUUID(), { timeoutMs: 1000, expiresAt: far, signal: aborted }),
    null,
  );
  assert.equal(waiter.stats().parked, 0);
  await waiter.close();
});

Deno.test("shutdown answers thousands of parked waits at once", async () => {
  const waiter = offlineWaiter();
  const far = Date.now() + 3_600_000;
  const id = crypto.randomUUID();
  const waits = Array.from(
    { length: 5000 },
    (_, i) =>
      waiter.wait(i % 2 ? id : crypto.randomUUID(), { timeoutMs: 3_600_000, expiresAt: far }),
  );
  assert.equal(waiter.stats().parked, 5000);
  waiter.shutdown();
  assert.equal(waiter.stats().parked, 0);
  const answers = await Promise.all(waits);
  assert.ok(answers.every((a) => a === null));
  await waiter.close();
});
