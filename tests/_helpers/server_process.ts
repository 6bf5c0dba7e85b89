// A functions server as its own process (`deno run -A <entry>`), for tests that need what the
// in-process stack cannot show: signals, or a function's own module graph as deployed.
import { TEST_HMAC_SECRET, TEST_JWT_SECRET } from "./stack.ts";
import { eventually } from "./approvals.ts";
import { freePort } from "../../bench/lib/ports.ts";

export interface ServerProcess {
  child: Deno.ChildProcess;
  /** http://127.0.0.1:<port>/functions/v1 */
  functionsUrl: string;
  /** SIGKILL (if it still runs) and its exit */
  stop(): Promise<void>;
}

/** Starts `entry` with the test secrets on `port` (default a free one); resolves once
 * `readyPath` (under /functions/v1) answers anything to `readyMethod`. */
export async function startServerProcess(
  entry: string,
  databaseUrl: string,
  readyPath: string,
  { readyMethod = "GET", port = freePort() }: { readyMethod?: string; port?: number } = {},
): Promise<ServerProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", entry],
    env: {
      DATABASE_URL: databaseUrl,
      HMAC_SECRET: TEST_HMAC_SECRET,
      SUPABASE_JWT_SECRET: TEST_JWT_SECRET,
      PORT: String(port),
      LOG_LEVEL: "error",
    },
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  const functionsUrl = `http://127.0.0.1:${port}/functions/v1`;
  const stop = async () => {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await child.status;
  };
  try {
    await eventually(
      async () => {
        try {
          await (await fetch(`${functionsUrl}/${readyPath}`, { method: readyMethod })).body
            ?.cancel();
          return true;
        } catch {
          return false;
        }
      },
      `${entry} to listen`,
      60_000,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { child, functionsUrl, stop };
}
