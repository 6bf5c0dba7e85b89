// jose, imported on first use (a token to verify, a push to sign), not at start: about
// 10 ms of every function's cold start (bench/cold_start.ts), and most requests need none.
import type * as Jose from "jose";

export type { Jose };
let jose: Promise<typeof Jose> | undefined;

export function loadJose(): Promise<typeof Jose> {
  return jose ??= import("jose");
}
