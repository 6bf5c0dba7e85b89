// The command analyser of shared/command_policy.ts (with shell_commands.ts, ~45 KB), imported on
// its first use: a bridge-approval-request's first signed request, mobile-inbox's first read.
// At start it cost those functions, and mobile-run-events, which never uses it, ~1.2–1.6 ms of
// CPU (issue 21, bench/FINDINGS.md).
import type * as CommandPolicy from "@shared/command_policy.ts";

let policy: Promise<typeof CommandPolicy> | undefined;

/** analyzeCommand() of shared/command_policy.ts, imported on the first call. */
export async function analyzeCommand(
  ...args: Parameters<typeof CommandPolicy.analyzeCommand>
): Promise<Awaited<ReturnType<typeof CommandPolicy.analyzeCommand>>> {
  const { analyzeCommand } = await (policy ??= import("@shared/command_policy.ts"));
  return await analyzeCommand(...args);
}
