// Errors a person can act on: a failed connection names the URL it tried and the likely
// fix, instead of `fetch failed`. `explainFetch` wraps fetch for the interactive commands
// (the SDK and supabase-js call the global fetch), so every HTTP call the CLI makes fails
// with the URL in its message.
import { isLoopbackHost } from "../shared/loopback.ts";

/** The backend or the database could not be reached; the message says where and what to do. */
export class NetworkError extends Error {
  constructor(message: string, override readonly cause?: unknown) {
    super(message);
    this.name = "NetworkError";
  }
}

const REASONS: [RegExp, string][] = [
  [/ECONNREFUSED|connection refused/i, "connection refused"],
  [/ENOTFOUND|EAI_AGAIN|dns error|failed to lookup|Name or service not known/i, "unknown host"],
  [/ETIMEDOUT|timed out|TimeoutError|aborted due to timeout/i, "timed out"],
  [/ECONNRESET|connection reset|socket hang up|other side closed/i, "connection reset"],
  [/certificate|CERT_|SSL|TLS/i, "TLS error"],
  [/EHOSTUNREACH|ENETUNREACH|No route to host|Network is unreachable/i, "network unreachable"],
];

/** The error and its causes as one string, for matching. */
function chain(error: unknown): string {
  const parts: string[] = [];
  let e: unknown = error;
  for (let i = 0; e && i < 5; i++) {
    const err = e as { name?: string; code?: string; message?: string; cause?: unknown };
    parts.push(`${err.name ?? ""} ${err.code ?? ""} ${err.message ?? String(e)}`);
    e = err.cause;
  }
  return parts.join(" | ");
}

/** "connection refused", "unknown host", …, or null when the error is not a network error. */
export function networkReason(error: unknown): string | null {
  const text = chain(error);
  for (const [re, reason] of REASONS) if (re.test(text)) return reason;
  if (/fetch failed|error sending request|NetworkError|Failed to fetch/i.test(text)) {
    return ((error as Error)?.message ?? "network error").split("\n")[0];
  }
  return null;
}

function isLoopback(url: string): boolean {
  try {
    return isLoopbackHost(new URL(url).hostname);
  } catch {
    return false;
  }
}
/** The fix to suggest for an unreachable backend URL. */
export function backendFix(url: string): string {
  return isLoopback(url)
    ? "Is `npm run dev` running (in the backend's checkout)? Else set AGENTOPS_URL to your backend's functions URL (https://<ref>.supabase.co/functions/v1)."
    : "Check the URL and your network; set AGENTOPS_URL to change it.";
}

/** The fix to suggest for an unreachable database URL. */
function databaseFix(url: string): string {
  return isLoopback(url)
    ? "Is `npm run dev` running? It prints the database URL; set AGENTOPS_DATABASE_URL (or DB_PORT) if it is not on 54322."
    : "Check the URL and your network; set AGENTOPS_DATABASE_URL to change it.";
}

/** A database URL with its password hidden. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return url;
  }
}

/** Wraps fetch so a failed connection throws a NetworkError naming the URL and the fix. */
export function explainFetch(inner: typeof fetch): typeof fetch {
  return async function fetchWithUrl(input, init) {
    try {
      return await inner(input, init);
    } catch (error) {
      const reason = networkReason(error);
      if (!reason || (error as Error)?.name === "AbortError") throw error;
      const url = input instanceof Request ? input.url : String(input);
      throw new NetworkError(`Cannot reach ${url}: ${reason}. ${backendFix(url)}`, error);
    }
  };
}

/** Runs a database call; a failed connection becomes a NetworkError naming the URL. */
export async function explainDatabase<T>(url: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    const reason = networkReason(error);
    if (!reason) throw error;
    throw new NetworkError(
      `Cannot reach the database at ${redactUrl(url)}: ${reason}. ${databaseFix(url)}`,
      error,
    );
  }
}

/** The most useful message of an error: a NetworkError anywhere in its causes wins. */
export function describeError(error: unknown): string {
  let e: unknown = error;
  for (let i = 0; e && i < 5; i++) {
    if (e instanceof NetworkError) return e.message;
    e = (e as { cause?: unknown }).cause;
  }
  return (error as Error)?.message ?? String(error);
}
