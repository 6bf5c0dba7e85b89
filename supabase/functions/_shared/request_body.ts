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
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = options.timeoutMs === undefined ? undefined : new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(incomplete(`did not arrive within ${options.timeoutMs} ms`)),
      options.timeoutMs,
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
    clearTimeout(timer);
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
