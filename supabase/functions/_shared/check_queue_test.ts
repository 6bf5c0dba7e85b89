// Unit tests of the check queue: one batch at a time, coalesced, nothing after a stop.
import { deepStrictEqual as assertEquals } from "node:assert";
import { type CheckBatch, createCheckQueue } from "./check_queue.ts";

Deno.test("createCheckQueue() reads what is asked at once in one batch, and what is asked during a read right after it", async () => {
  const batches: { all: boolean; ids: string[] }[] = [];
  let release: () => void = () => {};
  const queue = createCheckQueue({
    read(batch: CheckBatch) {
      batches.push({ all: batch.all, ids: [...batch.ids].sort() });
      return new Promise<void>((resolve) => (release = resolve));
    },
    stopped: () => false,
  });
  queue.soon("a");
  queue.soon("b");
  queue.soon("a");
  await Promise.resolve();
  assertEquals(batches, [{ all: false, ids: ["a", "b"] }]);
  queue.soon("c");
  queue.soon();
  await Promise.resolve();
  assertEquals(batches.length, 1, "never two reads at once");
  const first = queue.running!;
  release();
  await first;
  await Promise.resolve();
  assertEquals(batches[1], { all: true, ids: ["c"] });
  release();
  await queue.running;
  assertEquals(queue.running, undefined);
});

Deno.test("createCheckQueue() reads nothing once stopped", async () => {
  let reads = 0;
  const queue = createCheckQueue({
    read: () => Promise.resolve(void reads++),
    stopped: () => true,
  });
  queue.soon("a");
  await Promise.resolve();
  assertEquals(reads, 0);
});
