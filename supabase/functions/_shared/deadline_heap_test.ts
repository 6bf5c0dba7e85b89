// Unit tests of the deadline heap: order, resolved entries skipped and compacted.
import { strict as assert } from "node:assert";
import { DeadlineHeap } from "./deadline_heap.ts";

const entry = (due: number) => ({ due, done: false });

Deno.test("DeadlineHeap pops entries in due order, ties included", () => {
  const heap = new DeadlineHeap<{ due: number; done: boolean }>();
  const dues = [50, 10, 30, 20, 40, 10, 60, 0, 35];
  for (const due of dues) heap.push(entry(due));
  const out: number[] = [];
  for (let e = heap.pop(); e; e = heap.pop()) out.push(e.due);
  assert.deepEqual(out, [...dues].sort((a, b) => a - b));
  assert.equal(heap.size, 0);
  assert.equal(heap.pop(), undefined);
});

Deno.test("DeadlineHeap matches a sort on random input", () => {
  const heap = new DeadlineHeap<{ due: number; done: boolean }>();
  const dues = Array.from({ length: 2000 }, () => Math.floor(Math.random() * 1000));
  for (const due of dues) heap.push(entry(due));
  const out: number[] = [];
  for (let e = heap.pop(); e; e = heap.pop()) out.push(e.due);
  assert.deepEqual(out, [...dues].sort((a, b) => a - b));
});

Deno.test("DeadlineHeap.peekLive() skips resolved entries; compact() drops them", () => {
  const heap = new DeadlineHeap<{ due: number; done: boolean }>();
  const entries = [5, 1, 4, 2, 3].map(entry);
  for (const e of entries) heap.push(e);
  entries[1].done = true; // due 1
  entries[3].done = true; // due 2
  assert.equal(heap.peekLive()?.due, 3);
  entries[0].done = true; // due 5
  heap.compact();
  assert.equal(heap.size, 2);
  assert.deepEqual([heap.pop()?.due, heap.pop()?.due], [3, 4]);
  heap.push(entry(7));
  heap.clear();
  assert.equal(heap.peekLive(), undefined);
});
