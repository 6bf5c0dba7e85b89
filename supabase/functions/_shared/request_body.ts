// Reading a request body: refused past 64 KiB before parsing, then JSON (validate.ts
// checks it against its schema).
import { HttpError } from "./http_error.ts";

const MAX_BODY_BYTES = 64 * 1024;
/** The raw body of a request without one (shared: a parked GET keeps no buffer of its own) */
const NO_BODY = new Uint8Array();

interface ReadBodyOptions {
  /** bytes at most (413 beyond) */
  limit?: number;
  /** the whole body must arrive within this long (400 after it); none when absent */
  timeoutMs?: number;
}

/** The body-read deadlines of every request in flight, on one runtime timer at a time.
 * Not setTimeout/clearTimeout per request: Deno's first global setTimeout or clearTimeout
 * initialises its Node-compatible timers, ~4.5 ms of CPU on a function's first request,
 * a third of the cold-start budget (issue 21, bench/FINDINGS.md). AbortSignal.timeout is
 * on the runtime's own timers, costs nothing to set up, and cannot be cleared, so it is
 * armed only for the earliest deadline; a request whose body arrives forgets its entry. */
class Deadlines {
  /** pending reads: when each expires and what it does then */
  #pending = new Map<symbol, { due: number; expire: () => void }>();
  /** the due time of the latest timer armed, if it has not fired */
  #armedFor: number | undefined;

  /** Calls expire() after ms unless the returned release() is called first. */
  add(ms: number, expire: () => void): () => void {
    const key = Symbol();
    const due = performance.now() + ms;
    this.#pending.set(key, { due, expire });
    if (this.#armedFor === undefined || due < this.#armedFor) this.#arm(due);
    return () => this.#pending.delete(key);
  }

  #arm(due: number): void {
    this.#armedFor = due;
    const ms = Math.max(0, Math.ceil(due - performance.now()));
    AbortSignal.timeout(ms).addEventListener("abort", () => this.#fire(due), { once: true });
  }

  #fire(armedFor: number): void {
    // a later (shorter) timer replaced this one: that one sweeps
    if (this.#armedFor !== armedFor) return;
    this.#armedFor = undefined;
    const now = performance.now();
    let next: number | undefined;
    for (const [key, read] of this.#pending) {
      if (read.due <= now) {
        this.#pending.delete(key);
        read.expire();
      } else if (next === undefined || read.due < next) next = read.due;
    }
    if (next !== undefined) this.#arm(next);
  }
}
const bodyDeadlines = new Deadlines();

/** The raw body bytes; 413 when the declared or actual size is over the limit. A body cut
 * short (the client closed before Content-Length or the last chunk) or one still not
 * complete after timeoutMs is the client's fault: 400 invalid_request, never a 500. */
export async function readRawBody(
  req: Request,
  options: ReadBodyOptions = {},
): Promise<Uint8Array> {
  const limit = options.limit ?? MAX_BODY_BYTES;
  const tooLarge = () =>
    new HttpError("payload_too_large", `Payload too large: bodies are limited to ${limit} bytes`);
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > limit) throw tooLarge();
  if (!req.body) return NO_BODY;
  const reader = req.body.getReader();
  const incomplete = (why: string) =>
    new HttpError("invalid_request", `Invalid request: the body ${why}`);
  // A race, not reader.cancel(): a read pending on a stalled socket is not ended by a
  // cancel in Deno, so the deadline rejects on its own.
  let release: (() => void) | undefined;
  const { timeoutMs } = options;
  const deadline = timeoutMs === undefined ? undefined : new Promise<never>((_, reject) => {
    release = bodyDeadlines.add(
      timeoutMs,
      () => reject(incomplete(`did not arrive within ${timeoutMs} ms`)),
    );
  });
  deadline?.catch(() => {}); // handled where it is raced; unhandled when no read is pending
  const cutShort = () =>
    incomplete(
      "ended before it was complete (the connection closed before Content-Length bytes " +
        "or the last chunk arrived)",
    );
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (true) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await (deadline ? Promise.race([reader.read(), deadline]) : reader.read());
      } catch (error) {
        reader.cancel().catch(() => {});
        // Deno: BadResource "Cannot read request body as underlying resource unavailable"
        throw error instanceof HttpError ? error : cutShort();
      }
      if (chunk.done) break;
      size += chunk.value.length;
      if (size > limit) {
        await reader.cancel().catch(() => {});
        throw tooLarge();
      }
      chunks.push(chunk.value);
    }
  } finally {
    release?.();
  }
  // The stream can also end quietly at a closed connection: the count tells.
  if (req.headers.has("content-length") && size !== declared) throw cutShort();
  const out = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

/** Parses JSON text; 400 invalid_json when it is not JSON. */
export function parseJson(raw: Uint8Array): unknown {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(raw);
  } catch {
    throw new HttpError("invalid_json", "Invalid JSON: the body is not valid UTF-8");
  }
  if (text.trim() === "") throw new HttpError("invalid_json", "Invalid JSON: the body is empty");
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new HttpError("invalid_json", `Invalid JSON: ${(error as Error).message}`);
  }
}
