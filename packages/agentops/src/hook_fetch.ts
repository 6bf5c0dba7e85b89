// The fetch the `agentops hook` command gets on Node (src/main.ts): Node 20's global fetch
// loads undici on first use, ~25 ms of CPU in every hook that sends a request (node
// --cpu-prof), where node:http costs a few. Only what the hook's SDK calls use
// (client/sdk.ts): a method, string headers, a string body and a signal; the answer's
// status, headers.get(), text() and json(), body.cancel(). The whole answer is read before
// the promise settles, so the signal (AbortSignal.timeout) bounds connect, headers and body
// alike, and an abort rejects with the signal's reason (a DOMException, as fetch does).
import type { IncomingMessage } from "node:http";

interface HookResponse {
  status: number;
  ok: boolean;
  headers: { get(name: string): string | null };
  body: { cancel(): Promise<void> };
  text(): Promise<string>;
  json(): Promise<unknown>;
}

function answer(res: IncomingMessage, bytes: Buffer): HookResponse {
  const text = bytes.toString("utf8");
  const status = res.statusCode ?? 0;
  return {
    status,
    ok: status >= 200 && status < 300,
    headers: {
      get(name: string) {
        const value = res.headers[name.toLowerCase()];
        return value === undefined ? null : Array.isArray(value) ? value.join(", ") : value;
      },
    },
    body: { cancel: () => Promise.resolve() },
    text: () => Promise.resolve(text),
    json: () => Promise.resolve().then(() => JSON.parse(text)),
  };
}

/** fetch(url, {method, headers, body, signal}) over node:http / node:https. */
export async function hookFetch(
  input: RequestInfo | URL,
  init: RequestInit = {},
): Promise<Response> {
  if (typeof input !== "string" && !(input instanceof URL)) {
    throw new TypeError("hookFetch takes a URL, not a Request");
  }
  const url = new URL(String(input));
  // Loaded by the first request: a hook that sends nothing never pays for node:http.
  const transport = url.protocol === "https:"
    ? (await import("node:https")).default
    : (await import("node:http")).default;
  const headers: Record<string, string> = { ...(init.headers as Record<string, string>) };
  const body = typeof init.body === "string" ? Buffer.from(init.body, "utf8") : null;
  if (init.body != null && body === null) throw new TypeError("hookFetch sends string bodies");
  if (body) headers["content-length"] = String(body.length);
  const signal = init.signal ?? undefined;
  signal?.throwIfAborted();
  return await new Promise<Response>((resolve, reject) => {
    const request = transport.request(url, { method: init.method ?? "GET", headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("error", reject);
      res.on("end", () => {
        signal?.removeEventListener("abort", abort);
        resolve(answer(res, Buffer.concat(chunks)) as unknown as Response);
      });
    });
    function abort() {
      reject(signal!.reason);
      request.destroy();
    }
    signal?.addEventListener("abort", abort, { once: true });
    request.on("error", (error) => {
      signal?.removeEventListener("abort", abort);
      reject(error);
    });
    request.end(body ?? undefined);
  });
}
