// The load generator of bench/ingest.ts, run in a Worker of the bench process (the servers
// it drives are processes of their own). It must cost less than what it drives, so the
// requests are signed (v2, as the client signs them) and encoded before the clock starts,
// and each client writes them as raw HTTP/1.1 bytes over its own keep-alive TCP connection
// (fetch costs ~0.3 ms of CPU per request here, as much as a bare INSERT server). Every
// side (bridge-event, the floor, the no-op server that measures the generator) gets the
// same requests; each client posts to its own workspace's run.
import { hmacSha256Hex, newNonce, v2SignedString } from "../shared/signing.ts";

export interface LoadRequest {
  /** where to POST (bridge-event's path is what is signed, whatever the server) */
  url: string;
  clients: { workspaceId: string; secret: string; runId: string }[];
  durationMs: number;
  /** requests signed in advance per client (more are signed on the fly if it runs out) */
  presigned: number;
}

export interface LoadResult {
  latenciesMs: number[];
  failures: Record<string, number>;
  elapsedMs: number;
  /** requests signed during the timed window (the pre-signed ones ran out) */
  signedLate: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

async function signedRequest(
  url: URL,
  client: LoadRequest["clients"][number],
  key: string,
  i: number,
): Promise<Uint8Array> {
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
  const bodyBytes = encoder.encode(body);
  const head = `POST ${url.pathname} HTTP/1.1\r\nhost: ${url.host}\r\n` +
    `content-type: application/json\r\ncontent-length: ${bodyBytes.length}\r\n` +
    `x-workspace-id: ${client.workspaceId}\r\nx-timestamp: ${timestamp}\r\n` +
    `x-nonce: ${nonce}\r\nx-signature: ${await hmacSha256Hex(key, signed)}\r\n` +
    `x-signature-version: 2\r\n\r\n`;
  const headBytes = encoder.encode(head);
  const out = new Uint8Array(headBytes.length + bodyBytes.length);
  out.set(headBytes);
  out.set(bodyBytes, headBytes.length);
  return out;
}

/** Reads one HTTP/1.1 response (Content-Length framed) off the connection; its status. */
class ResponseReader {
  #buf = new Uint8Array(0);
  constructor(readonly conn: Deno.Conn) {}
  async #fill(): Promise<void> {
    const chunk = new Uint8Array(16384);
    const n = await this.conn.read(chunk);
    if (n === null) throw new Error("connection closed");
    const next = new Uint8Array(this.#buf.length + n);
    next.set(this.#buf);
    next.set(chunk.subarray(0, n), this.#buf.length);
    this.#buf = next;
  }
  async read(): Promise<number> {
    for (;;) {
      const text = decoder.decode(this.#buf);
      const end = text.indexOf("\r\n\r\n");
      if (end >= 0) {
        const head = text.slice(0, end);
        const status = Number(head.slice(9, 12));
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? "0");
        // headers are ASCII: the byte offset is the character offset
        const total = end + 4 + length;
        while (this.#buf.length < total) await this.#fill();
        this.#buf = this.#buf.slice(total);
        return status;
      }
      await this.#fill();
    }
  }
}

async function runClient(
  url: URL,
  client: LoadRequest["clients"][number],
  requests: Uint8Array[],
  key: string,
  deadline: number,
  out: LoadResult,
) {
  const connect = async () => {
    const c = await Deno.connect({ hostname: url.hostname, port: Number(url.port) });
    c.setNoDelay(true);
    return c;
  };
  let conn = await connect();
  let reader = new ResponseReader(conn);
  try {
    let i = 0;
    while (performance.now() < deadline) {
      let bytes = requests[i];
      if (bytes === undefined) {
        out.signedLate++;
        bytes = await signedRequest(url, client, key, i);
      }
      i++;
      const started = performance.now();
      let status: number;
      try {
        let written = 0;
        while (written < bytes.length) written += await conn.write(bytes.subarray(written));
        status = await reader.read();
      } catch {
        // the server closed the connection: counted, and a new one for the next request
        out.failures["closed"] = (out.failures["closed"] ?? 0) + 1;
        conn.close();
        conn = await connect();
        reader = new ResponseReader(conn);
        continue;
      }
      const ms = performance.now() - started;
      if (status >= 200 && status < 300) out.latenciesMs.push(ms);
      else out.failures[status] = (out.failures[status] ?? 0) + 1;
    }
  } finally {
    conn.close();
  }
}

// deno check types this file as a window script; it runs as a worker.
const worker = self as unknown as {
  onmessage: (message: MessageEvent<LoadRequest>) => void;
  postMessage: (result: LoadResult) => void;
};

worker.onmessage = async (message: MessageEvent<LoadRequest>) => {
  const { clients, durationMs, presigned } = message.data;
  const url = new URL(message.data.url);
  const keys = clients.map((c) => c.secret);
  const requests = await Promise.all(
    clients.map(async (c, k) => {
      const list: Uint8Array[] = [];
      for (let i = 0; i < presigned; i++) list.push(await signedRequest(url, c, keys[k], i));
      return list;
    }),
  );
  const out: LoadResult = { latenciesMs: [], failures: {}, elapsedMs: 0, signedLate: 0 };
  const started = performance.now();
  const deadline = started + durationMs;
  await Promise.all(
    clients.map((c, k) => runClient(url, c, requests[k], keys[k], deadline, out)),
  );
  out.elapsedMs = performance.now() - started;
  worker.postMessage(out);
};
