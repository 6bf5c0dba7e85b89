// Runs a server entry (argument 1, e.g. a function's index.ts) with a full garbage
// collection on SIGUSR2, so bench/approval.ts reads the RSS of what is held, not of garbage
// not yet collected. Started with --v8-flags=--expose-gc, the same for every side.
import v8 from "node:v8";

let snapshots = 0;
const gc = (globalThis as unknown as { gc?: (options?: object) => void }).gc;
// V8's memory-reducing full collection (CollectAllAvailableGarbage), the one its memory reducer
// runs on a heap that has gone idle. A plain gc() leaves the young generation at the size the
// burst of parking grew it to (13 MiB committed, 2 KiB used, for 1,000 requests), which V8 gives
// back by itself after some seconds idle (measured: 30 s idle, then a plain gc(): 256 KiB), so
// the plain one measured the burst, not what the held requests keep (bench/FINDINGS.md).
const REDUCE_MEMORY = { type: "major", execution: "sync", flavor: "last-resort" };
// After the GC, the process's memory as V8 sees it goes to RSS_REPORT (live heap vs what
// the process holds outside it: HTTP connections, code, committed but free pages).
Deno.addSignalListener("SIGUSR2", () => {
  for (let i = 0; i < 3; i++) gc?.(REDUCE_MEMORY);
  // HEAP_SNAPSHOT_DIR set: a V8 heap snapshot too, one per signal (what each held request
  // keeps alive: bench/FINDINGS.md, parked waiter memory)
  const dir = Deno.env.get("HEAP_SNAPSHOT_DIR");
  if (dir) v8.writeHeapSnapshot(`${dir}/${Deno.pid}-${snapshots++}.heapsnapshot`);
  const report = Deno.env.get("RSS_REPORT");
  const newSpace = v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space");
  if (report) {
    Deno.writeTextFileSync(
      report,
      JSON.stringify({ ...Deno.memoryUsage(), newSpace: newSpace?.space_size ?? 0 }),
    );
  }
});
await import(new URL(Deno.args[0], `file://${Deno.cwd()}/`).href);
