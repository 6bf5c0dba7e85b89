// Starts and stops the fault tests' own PostgreSQL (pg_server.mjs) in a child process.
import { freePort } from "../../bench/lib/ports.ts";

export interface OwnPostgres {
  url: string;
  /** stops the server (clean shutdown; connections are terminated) */
  stop(): Promise<void>;
  /** starts it again on the same port and data */
  start(): Promise<void>;
  /** stops it and removes its data */
  destroy(): Promise<void>;
}

/** `maxConnections`: the server's max_connections (default: PostgreSQL's). */
export async function startOwnPostgres(
  options: { maxConnections?: number } = {},
): Promise<OwnPostgres> {
  const port = freePort();
  const dataDir = await Deno.makeTempDir({ prefix: "agentops-fault-db-" });
  let child: Deno.ChildProcess | undefined;
  let url = "";
  async function start() {
    child = new Deno.Command("node", {
      args: [
        "tests/faults/pg_server.mjs",
        String(port),
        dataDir,
        ...(options.maxConnections ? [String(options.maxConnections)] : []),
      ],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let out = "";
    while (!out.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`pg_server.mjs exited before it was ready: ${out}`);
      out += value;
    }
    reader.releaseLock();
    const match = /^ready (\S+)/.exec(out);
    if (!match) throw new Error(`pg_server.mjs said ${out}`);
    url = match[1];
  }
  async function stop() {
    if (!child) return;
    child.kill("SIGTERM");
    await child.status;
    await child.stdout.cancel().catch(() => {});
    child = undefined;
  }
  await start();
  return {
    get url() {
      return url;
    },
    stop,
    start,
    async destroy() {
      await stop();
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    },
  };
}
