// Every failure the app can meet, in words: the API's error shape (docs/contract/api.md#errors)
// mapped to a sentence a person can act on, followed by the server's own message (written to be
// read). Shared by the pages and the service worker.
import { ApiError } from "../../shared/api_error.ts";

export { ApiError };

/** The backend could not be reached at all (no network, server down, CORS refused). */
export class OfflineError extends Error {
  constructor(message = "Cannot reach the AgentOps backend") {
    super(message);
    this.name = "OfflineError";
  }
}

/** What to say when the server sent no message of its own. */
const FALLBACK: Record<string, string> = {
  invalid_json: "The backend could not read what the app sent.",
  invalid_request: "The backend refused the request.",
  unauthorized: "Your sign-in was not accepted.",
  signature_expired: "The request was too old when it arrived.",
  forbidden: "This device may not do that.",
  not_found: "Not found, or not yours to see.",
  method_not_allowed: "The backend does not offer this (is it up to date?).",
  conflict: "That conflicts with the current state.",
  already_decided: "Someone already decided this approval.",
  expired: "Too late: the approval expired.",
  no_device: "No device is paired with that project.",
  payload_too_large: "That is too long to send.",
  unsupported_media_type: "The app sent an unexpected format.",
  rate_limited: "Too many requests.",
  unavailable: "The backend's database is unavailable right now.",
  internal: "The backend failed on its side.",
};

/** What the person can do about it. */
const NEXT_STEP: Record<string, string> = {
  unauthorized: "Reload the app to sign in again.",
  signature_expired: "Check this device's clock.",
  already_decided: "Your answer was not used.",
  rate_limited: "Wait a moment and try again.",
  unavailable: "Try again in a moment.",
  internal: "Try again; if it keeps failing, look in the backend's log",
};

/** One sentence or two for a person: what went wrong (the server's own message, which is
 * written to be read) and what to do next. */
export function errorWords(error: unknown): string {
  if (error instanceof OfflineError) {
    return `Offline: ${error.message}. Check the connection; the app retries on its own.`;
  }
  if (error instanceof ApiError) {
    const what = error.message ||
      (FALLBACK[error.code] ?? `The backend answered ${error.status} (${error.code}).`);
    const issues = issueWords(error.details);
    let next = NEXT_STEP[error.code] ?? "";
    if (error.code === "internal" && error.requestId) next += ` (request ${error.requestId}).`;
    else if (error.code === "internal") next += ".";
    return [sentence(what) + (issues ? ` (${issues})` : ""), next].filter(Boolean).join(" ");
  }
  if (error instanceof Error) return `Something went wrong: ${sentence(error.message)}`;
  return `Something went wrong: ${sentence(String(error))}`;
}

function sentence(text: string): string {
  const t = text.trim();
  return /[.!?]$/.test(t) ? t : `${t}.`;
}

/** The schema issues from `invalid_request` details, as "field: problem" pairs. */
function issueWords(details: unknown): string {
  const list = Array.isArray(details) ? details : (details as { issues?: unknown })?.issues ?? null;
  if (!Array.isArray(list)) return "";
  return list.slice(0, 3).map((issue) => {
    const { path, message } = issue as { path?: unknown[]; message?: string };
    return path?.length ? `${path.join(".")}: ${message}` : String(message ?? "");
  }).join("; ");
}

/** Parses a response in the API's error shape (or anything else) into an ApiError. */
export async function errorFromResponse(res: Response): Promise<ApiError> {
  const requestId = res.headers.get("x-request-id");
  const text = await res.text().catch(() => "");
  try {
    const { error } = JSON.parse(text) as {
      error?: { code?: string; message?: string; details?: unknown };
    };
    if (error?.code) {
      return new ApiError(res.status, error.code, error.message ?? "", error.details, requestId);
    }
  } catch { /* not JSON: fall through */ }
  return new ApiError(
    res.status,
    res.status >= 500 ? "internal" : "invalid_request",
    `HTTP ${res.status}${text ? `: ${text.slice(0, 200)}` : ""}`,
    undefined,
    requestId,
  );
}
