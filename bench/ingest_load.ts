// The load generator of bench/ingest.ts, run in a Worker so that signing and sending do
// not share a thread with the functions being measured: `clients` loops, each posting
// signed events to its own workspace's run until the deadline.
import { hmacSha256Hex, importHmacKey, newNonce, v2SignedString } from "../shared/signing.ts";

export interface LoadRequest {
  functionsUrl: string;
  clients: { workspaceId: string; secret: string; runId: string }[];
  durationMs: number;
}

export interface LoadResult {
  latenciesMs: number[];
  failures: Record<string, number>;
  elapsedMs: number;
}

async function runClient(
  url: string,
  client: LoadRequest["clients"][number],
  deadline: number,
  out: LoadResult,
) {
  // signs as the client does (v2), with the key imported once: the generator's own cost
  // should stay small next to what it measures, as pgbench's does
  const key = await importHmacKey(client.secret);
  let i = 0;
  while (performance.now() < deadline) {
    i++;
    const body = JSON.stringify({
      workspace_id: client.workspaceId,
      run_id: client.runId,
      provider: "claude-code",
      event_type: "TOOL_USED",
      event_ts: new Date().toISOString(),
      payload: { tool: "Bash", message: `step ${i}` },
      event_id: crypto.randomUUID(),
    });
    const timestamp = String(Date.now());
    const nonce = newNonce();
    const signed = await v2SignedString({
      method: "POST",
      path: "/bridge-event",
      query: "",
      timestamp,
      nonce,
      body,
    });
    const headers = {
      "x-workspace-id": client.workspaceId,
      "x-timestamp": timestamp,
      "x-nonce": nonce,
      "x-signature": await hmacSha256Hex(key, signed),
      "x-signature-version": "2",
    };
    const started = performance.now();
    const res = await fetch(url, {
      method: "POST",
      headers: { ...headers, "content-type": "application/json" },
      body,
    });
    await res.arrayBuffer();
    const ms = performance.now() - started;
    if (res.status === 202) out.latenciesMs.push(ms);
    else out.failures[res.status] = (out.failures[res.status] ?? 0) + 1;
  }
}

// deno check types this file as a window script; it runs as a worker.
const worker = self as unknown as {
  onmessage: (message: MessageEvent<LoadRequest>) => void;
  postMessage: (result: LoadResult) => void;
};

worker.onmessage = async (message: MessageEvent<LoadRequest>) => {
  const { functionsUrl, clients, durationMs } = message.data;
  const out: LoadResult = { latenciesMs: [], failures: {}, elapsedMs: 0 };
  const started = performance.now();
  const deadline = started + durationMs;
  await Promise.all(
    clients.map((c) => runClient(`${functionsUrl}/bridge-event`, c, deadline, out)),
  );
  out.elapsedMs = performance.now() - started;
  worker.postMessage(out);
};
