// The database client (postgres.js, prepare: false for the Supavisor transaction pooler)
// and the mapping of database errors to API errors.
import postgres from "postgres";
import { HttpError, isErrorCode } from "./http_error.ts";
import { DEFAULT_POOL_MAX } from "./connection_budget.ts";

export type Sql = postgres.Sql;

/** Seconds before postgres.js reconnects after `retries` failures. Its default waits up to
 * 20 s (3^retries / 100 s): during an outage requests would hang instead of answering 503,
 * and recovery (and the waiter's LISTEN) would lag as long. A short, capped wait keeps
 * both prompt (tests/faults/db_restart_test.ts). */
export function reconnectBackoff(retries: number): number {
  return Math.min(0.05 * retries, 0.25);
}

/** A pool of `max` connections (default DEFAULT_POOL_MAX: the hosted budget, see
 * connection_budget.ts); idle ones close after 20 s. */
export function createSql(url: string, options: { max?: number } = {}): Sql {
  return postgres(url, {
    prepare: false,
    max: options.max ?? DEFAULT_POOL_MAX,
    idle_timeout: 20,
    connect_timeout: 5,
    backoff: reconnectBackoff,
    onnotice: () => {},
    connection: { application_name: "agentops-functions" },
  });
}

const UNAVAILABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "57P01", // admin_shutdown
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now
  "53300", // too_many_connections
  "08000",
  "08001",
  "08003",
  "08004",
  "08006",
]);

interface PgError {
  code?: string;
  message?: string;
  detail?: string;
  hint?: string;
  name?: string;
}

/** Turns a database error into an HttpError: AOERR raised by private.fail() carries the
 * API code; a database that cannot be reached is 503 with Retry-After. */
export function toHttpError(error: unknown): unknown {
  if (error instanceof HttpError) return error;
  const e = (error ?? {}) as PgError;
  if (e.code === "AOERR" && e.message && isErrorCode(e.message)) {
    let details: Record<string, unknown> | undefined;
    if (e.hint) {
      try {
        details = JSON.parse(e.hint);
      } catch { /* not JSON: no details */ }
    }
    const headers: Record<string, string> = {};
    if (details && typeof details.retry_after === "number") {
      headers["retry-after"] = String(details.retry_after);
    }
    return new HttpError(e.message, e.detail ?? e.message, { details, headers });
  }
  if (
    (e.code && UNAVAILABLE_CODES.has(e.code)) ||
    (error instanceof Error && /connect|ECONNREFUSED|terminat/i.test(error.message) &&
      !e.code?.match(/^[0-9A-Z]{5}$/))
  ) {
    return new HttpError("unavailable", "Service unavailable: the database cannot be reached", {
      headers: { "retry-after": "5" },
    });
  }
  if (e.code?.startsWith("22")) {
    return new HttpError("invalid_request", `Invalid request: ${e.message}`);
  }
  if (e.code === "23505") {
    return new HttpError("conflict", "Conflict: the row already exists");
  }
  return error;
}

/** Calls one SQL function returning jsonb, mapping errors. `call` is a trusted constant
 * with typed placeholders, e.g. `private.ingest_event($1::uuid, $2::jsonb)`; a jsonb
 * argument is passed as the object itself (a JSON string is taken as JSON text).
 *
 * With `prepare: false` (required by the transaction pooler) postgres.js sends every query
 * that has parameters twice: Parse/Describe to learn the parameter types, then Bind/Execute
 * — two round trips. So the arguments are written into the statement as dollar-quoted
 * literals with a random tag (no escapes exist inside them, whatever the server's string
 * settings) and the call is one round trip; measured ~1.5x the calls per second. Values
 * it cannot write that way (arrays, bytes, dates, bigints, a value containing the tag)
 * fall back to bound parameters. */
export async function callJson<T = Record<string, unknown>>(
  sql: Sql,
  call: string,
  args: unknown[],
): Promise<T> {
  try {
    const inline = inlineArguments(call, args);
    const rows = inline === null
      ? await sql.unsafe(`select ${call} as result`, args as postgres.ParameterOrJSON<never>[])
      : await sql.unsafe(`select ${inline} as result`);
    return rows[0].result as T;
  } catch (error) {
    throw toHttpError(error);
  }
}

function literalText(value: unknown): string | null | undefined {
  if (value === null || value === undefined) return null;
  if (typeof value === "string") return value;
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : undefined;
  if (typeof value === "boolean") return String(value);
  if (typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    return JSON.stringify(value);
  }
  return undefined;
}

/** `call` with $n replaced by dollar-quoted literals of args, or null when an argument
 * cannot be written that way. Exported for its test. */
export function inlineArguments(call: string, args: unknown[]): string | null {
  const tag = `$ao${crypto.randomUUID().replaceAll("-", "")}$`;
  const literals: string[] = [];
  for (const arg of args) {
    const text = literalText(arg);
    if (text === undefined) return null;
    if (text === null) {
      literals.push("null");
      continue;
    }
    if (text.includes(tag) || text.includes("\u0000")) return null;
    literals.push(`${tag}${text}${tag}`);
  }
  let complete = true;
  const out = call.replace(/\$(\d+)/g, (_, n: string) => {
    const literal = literals[Number(n) - 1];
    if (literal === undefined) complete = false;
    return literal ?? "";
  });
  return complete ? out : null;
}

/** Runs a query, mapping errors. */
export async function query<T extends readonly object[]>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw toHttpError(error);
  }
}
