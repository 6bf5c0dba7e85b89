// Reading a request body: refused past 64 KiB before parsing, then JSON, then zod.
import { z } from "zod";
import { HttpError } from "./http_error.ts";

export const MAX_BODY_BYTES = 64 * 1024;

/** The raw body bytes; 413 when the declared or actual size is over the limit. */
export async function readRawBody(req: Request, limit = MAX_BODY_BYTES): Promise<Uint8Array> {
  const tooLarge = () =>
    new HttpError("payload_too_large", `Payload too large: bodies are limited to ${limit} bytes`);
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > limit) throw tooLarge();
  if (!req.body) return new Uint8Array();
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
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

/** Validates with a zod schema; 400 invalid_request with the issues in details. */
export function validate<S extends z.ZodType>(
  schema: S,
  value: unknown,
  what = "body",
): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new HttpError(
      "invalid_request",
      `Invalid request: the ${what} does not match the schema`,
      {
        details: result.error.issues.map((i) => ({
          path: i.path.map(String).join("."),
          code: i.code,
          message: i.message,
        })),
      },
    );
  }
  return result.data;
}
