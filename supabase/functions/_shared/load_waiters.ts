// waiters.ts imported on demand: what pair-status, mobile-inbox and mobile-run-events await
// before they park their first request, instead of importing it at start (its modules cost
// ~3 ms of CPU on a cold start, issue 21; the first park opens the LISTEN connection anyway).
// bridge-approval-wait, which parks every PENDING answer, imports waiters.ts statically.
// Apart from deps.ts, which waiters.ts imports (no import cycle).
import type { Deps, Waiters } from "./deps.ts";

let waitersModule: Promise<unknown> | undefined;

/** `deps`, once waiters.ts has registered the builder of its waiters. */
export async function loadWaiters(deps: Deps): Promise<Waiters> {
  await (waitersModule ??= import("./waiters.ts"));
  return deps;
}
