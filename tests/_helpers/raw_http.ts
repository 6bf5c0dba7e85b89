// HTTP/1.1 over a raw TCP socket (Deno.connect), for what fetch cannot send: a body cut
// short of its Content-Length or mid-chunk, a body dribbled a few bytes at a time, a body
// that stalls. The answer is returned as a Response (status, headers, body).

export interface RawRequest {
  /** http://127.0.0.1:<port> */
  baseUrl: string;
  method: string;
  /** path and query, e.g. /functions/v1/pair-start */
  path: string;
  headers?: Record<string, string>;
  /** what is sent of the body */
  body: Uint8Array | string;
  /** "length": Content-Length (declaredLength, default the body's length); "chunked": one
   * chunk per piece, the final 0-chunk only when complete; with declaredLength, one chunk
   * announcing that many bytes (cut mid-chunk when the body is shorter) */
  framing?: "length" | "chunked";
  declaredLength?: number;
  /** chunked: send the terminating 0-chunk (a complete body) */
  complete?: boolean;
  /** split the body into pieces of this many bytes, with pauseMs between them */
  pieceBytes?: number;
  pauseMs?: number;
  /** after the bytes: "half-close" (shut the write side, then read the answer), "wait"
   * (keep the socket open and read the answer) */
  then: "half-close" | "wait";
}

const enc = new TextEncoder();

export async function rawHttp(r: RawRequest): Promise<Response> {
  const url = new URL(r.baseUrl);
  const conn = await Deno.connect({ hostname: url.hostname, port: Number(url.port) });
  try {
    const body = typeof r.body === "string" ? enc.encode(r.body) : r.body;
    const framing = r.framing ?? "length";
    const head = [`${r.method} ${r.path} HTTP/1.1`, `host: ${url.host}`, "connection: close"];
    for (const [k, v] of Object.entries(r.headers ?? {})) head.push(`${k}: ${v}`);
    if (framing === "length") head.push(`content-length: ${r.declaredLength ?? body.length}`);
    else head.push("transfer-encoding: chunked");
    await writeAll(conn, enc.encode(head.join("\r\n") + "\r\n\r\n"));
    const size = r.pieceBytes ?? Math.max(1, body.length);
    for (let i = 0; i < body.length; i += size) {
      if (i > 0 && r.pauseMs) await new Promise((res) => setTimeout(res, r.pauseMs));
      const piece = body.subarray(i, i + size);
      if (framing === "chunked" && r.declaredLength !== undefined) {
        // one chunk announcing declaredLength bytes, of which only the body follows
        if (i === 0) await writeAll(conn, enc.encode(`${r.declaredLength.toString(16)}\r\n`));
        await writeAll(conn, piece);
      } else if (framing === "chunked") {
        await writeAll(conn, enc.encode(`${piece.length.toString(16)}\r\n`));
        await writeAll(conn, piece);
        await writeAll(conn, enc.encode("\r\n"));
      } else {
        await writeAll(conn, piece);
      }
    }
    if (framing === "chunked" && r.complete) await writeAll(conn, enc.encode("0\r\n\r\n"));
    if (r.then === "half-close") await conn.closeWrite();
    return parseResponse(await readAll(conn));
  } finally {
    try {
      conn.close();
    } catch { /* already closed */ }
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
}

/** Reads until one whole answer is in (the server may keep the socket open after it, e.g.
 * while a stalled body never ends) or the socket closes. */
async function readAll(conn: Deno.Conn): Promise<Uint8Array> {
  let out = new Uint8Array(0);
  const buf = new Uint8Array(16 * 1024);
  while (!answerComplete(out)) {
    let n: number | null;
    try {
      n = await conn.read(buf);
    } catch {
      break; // reset after the answer
    }
    if (n === null) break;
    const next = new Uint8Array(out.length + n);
    next.set(out);
    next.set(buf.subarray(0, n), out.length);
    out = next;
  }
  return out;
}

function answerComplete(bytes: Uint8Array): boolean {
  const text = new TextDecoder().decode(bytes);
  const split = text.indexOf("\r\n\r\n");
  if (split < 0) return false;
  const head = text.slice(0, split).toLowerCase();
  const length = /\r\ncontent-length:\s*(\d+)/.exec(head);
  if (length) {
    return bytes.length - (new TextEncoder().encode(text.slice(0, split + 4)).length) >=
      Number(length[1]);
  }
  if (/\r\ntransfer-encoding:\s*chunked/.test(head)) return text.endsWith("0\r\n\r\n");
  return false;
}

function parseResponse(bytes: Uint8Array): Response {
  const text = new TextDecoder().decode(bytes);
  const split = text.indexOf("\r\n\r\n");
  if (split < 0) throw new Error(`no HTTP answer: ${JSON.stringify(text.slice(0, 200))}`);
  const [statusLine, ...lines] = text.slice(0, split).split("\r\n");
  const status = Number(statusLine.split(" ")[1]);
  const headers = new Headers();
  for (const line of lines) {
    const i = line.indexOf(":");
    if (i > 0) headers.append(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  let body = text.slice(split + 4);
  if (headers.get("transfer-encoding")?.includes("chunked")) body = unchunk(body);
  headers.delete("transfer-encoding");
  headers.delete("content-length");
  return new Response(body, { status, headers });
}

function unchunk(s: string): string {
  let out = "";
  let rest = s;
  for (;;) {
    const eol = rest.indexOf("\r\n");
    if (eol < 0) return out;
    const n = parseInt(rest.slice(0, eol), 16);
    if (!n) return out;
    out += rest.slice(eol + 2, eol + 2 + n);
    rest = rest.slice(eol + 2 + n + 2);
  }
}
