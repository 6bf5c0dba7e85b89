// The database client (postgres.js, prepare: false for the Supavisor transaction pooler)
// and the mapping of database errors to API errors. postgres.js is imported on the first
// query, not at start: it brings Deno's Node layer (net, tls, streams) and was 40 of a
// function's ~110 ms cold start (bench/cold_start.ts), paid even by requests that never
// reach the database (a refused signature, a CORS preflight).
import type postgres from "postgres";
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

/** postgres.js itself, imported once, on first use. */
export function loadPostgres(): Promise<typeof postgres> {
  return postgresModule ??= import("postgres").then((m) => m.default);
}
let postgresModule: Promise<typeof postgres> | undefined;

/** A pool of `max` connections (default DEFAULT_POOL_MAX: the hosted budget, see
 * connection_budget.ts); idle ones close after 20 s. */
export function createSql(url: string, options: { max?: number } = {}): Sql {
  return lazySql(() =>
    loadPostgres().then((connect) =>
      connect(url, {
        prepare: false,
        max: options.max ?? DEFAULT_POOL_MAX,
        idle_timeout: 20,
        connect_timeout: 5,
        backoff: reconnectBackoff,
        onnotice: () => {},
        connection: { application_name: "agentops-functions" },
      })
    )
  );
}

/** A Sql that creates the real one on its first query. Until then a query (tagged,
 * unsafe, begin) is a promise of its result and end() has nothing to end; once it exists,
 * every call and property goes straight to postgres.js. A helper read before the first
 * query (sql.json, sql.array…) needs the module: it throws, saying so. */
function lazySql(create: () => Promise<Sql>): Sql {
  type Call = (...args: unknown[]) => unknown;
  let real: Sql | undefined;
  let creating: Promise<Sql> | undefined;
  const ready = () => creating ??= create().then((sql) => (real = sql));
  const later = (method?: "unsafe" | "begin") => (...args: unknown[]) =>
    ready().then((sql) => (method ? (sql[method] as Call) : (sql as unknown as Call))(...args));
  const before: Record<PropertyKey, unknown> = {
    unsafe: later("unsafe"),
    begin: later("begin"),
    end: () => creating ? creating.then((sql) => sql.end()) : Promise.resolve(),
  };
  const tagged = later();
  return new Proxy(function () {} as unknown as Sql, {
    apply(_target, _this, args) {
      return real ? (real as unknown as Call)(...args) : tagged(...args);
    },
    get(_target, prop) {
      if (real) {
        const value = Reflect.get(real, prop);
        return typeof value === "function" ? value.bind(real) : value;
      }
      if (prop in before) return before[prop];
      if (prop === "then") return undefined; // not a thenable
      throw new Error(
        `sql.${String(prop)} before the first query: postgres.js is imported on first use`,
      );
    },
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

/** Failures where Postgres rolled the whole statement back and a retry can succeed: the
 * request wrote nothing, so the client may send it again. */
const BUSY_CODES = new Set([
  "40001", // serialization_failure
  "40P01", // deadlock_detected
]);

const strayListeners = new Set<(error: unknown) => void>();

/** Keeps the process up when a database connection is reset under it. When the server goes
 * away (a restart, a failover), postgres.js under Deno's Node layer can surface the socket's
 * ECONNRESET as a promise rejection nobody awaits (seen in tests/faults/listen_restart_test.ts
 * about one run in four); unhandled, it would end the isolate, and every parked long-poll with
 * it. Requests still get their 503 from their own query; this only stops the stray rejection
 * from killing the process. Any other unhandled rejection is left alone. One event listener;
 * each caller's onStray hears of every stray reset. */
export function guardConnectionRejections(onStray: (error: unknown) => void): void {
  if (strayListeners.size === 0) {
    globalThis.addEventListener("unhandledrejection", (event) => {
      const code = (event.reason as PgError | undefined)?.code;
      if (code && UNAVAILABLE_CODES.has(code)) {
        event.preventDefault();
        for (const listener of strayListeners) listener(event.reason);
      }
    });
  }
  strayListeners.add(onStray);
}

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
  if (e.code && BUSY_CODES.has(e.code)) {
    return new HttpError(
      "unavailable",
      "Service unavailable: the database was busy (a deadlock or serialization conflict); retry",
      { headers: { "retry-after": "1" } },
    );
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
 * argument is passed as the object itself (postgres.js serialises it; a string would
 * arrive as a jsonb string scalar).
 *
 * The arguments are bound parameters, never part of the SQL text: Postgres logs the text
 * of every statement that fails (`log_min_error_statement`, default `error`), and a
 * refused request fails inside its SQL function, so values written into the text would
 * put push tokens, notes, instructions and payloads into the server log
 * (tests/server_log_test.ts). With `prepare: false` (the transaction pooler) postgres.js
 * spends a second round trip on these (Parse/Describe, then Bind/Execute); README
 * "Database calls" has the measured cost. */
export async function callJson<T = Record<string, unknown>>(
  sql: Sql,
  call: string,
  args: unknown[],
): Promise<T> {
  try {
    const rows = await sql.unsafe(
      `select ${call} as result`,
      args as postgres.ParameterOrJSON<never>[],
    );
    return rows[0].result as T;
  } catch (error) {
    throw toHttpError(error);
  }
}

/** Runs a query, mapping errors. */
export async function query<T extends readonly object[]>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw toHttpError(error);
  }
}
