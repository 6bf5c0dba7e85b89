// The hook runner's SDK: v2-signed bridge requests, retries with backoff (a fresh nonce
// each attempt, the same event_id / request_key), and the approval long-poll loop. Every
// call is bounded: each attempt has a timeout covering connect, headers and body
// (AbortSignal.timeout), and no attempt starts or runs past the client's deadline.
// Loaded on the first request: a hook that sends nothing never pays for it.
let signing: Promise<typeof import("../shared/signing.ts")> | undefined;
import type { Rule } from "../shared/rule_match.ts";
import { ApiError } from "../shared/api_error.ts";
// Types only: derived from the API's schemas, erased from the bundle (no valibot at run time).
import type * as v from "valibot";
import type {
  ApprovalState,
  BridgeApprovalRequest,
  BridgeApprovalResponse,
  BridgeEventRequest,
  BridgeEventResponse,
  PairStartRequest,
  PairStartResponse,
  PairStatusResponse,
  RunInstructionsResponse,
} from "../shared/api_schemas.ts";

export type { ApprovalState };

/** An error answer of the API ({error: {code, message, details}}). */
export { ApiError };

/** The signing module, loaded once on the first signed request. */
function signedHeaders(
  ...args: Parameters<typeof import("../shared/signing.ts").signedHeaders>
): ReturnType<typeof import("../shared/signing.ts").signedHeaders> {
  signing ??= import("../shared/signing.ts");
  return signing.then((m) => m.signedHeaders(...args));
}

export const DEFAULT_URL = "http://127.0.0.1:54321/functions/v1";

/** The backend could not be reached (network error, 5xx, or retries exhausted). */
export class UnreachableError extends Error {
  constructor(message: string, override readonly cause?: unknown) {
    super(message);
    this.name = "UnreachableError";
  }
}

export interface RetryOptions {
  /** attempts in all (1 = no retry) */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** per-attempt timeout: connect, response headers and the whole body */
  timeoutMs: number;
}

const DEFAULT_RETRY: RetryOptions = {
  attempts: 4,
  baseDelayMs: 200,
  maxDelayMs: 5_000,
  timeoutMs: 5_000,
};

/** A backend that answers nothing: `fetch` would wait forever without these timeouts. */
function timedOut(error: unknown): boolean {
  return error instanceof DOMException &&
    (error.name === "TimeoutError" || error.name === "AbortError");
}

interface ClientOptions {
  baseUrl: string;
  workspaceId: string;
  secret: string;
  retry?: Partial<RetryOptions>;
  /** an absolute time (ms) after which no new attempt starts */
  deadline?: number;
}

/** A run event as the runner sends it: bridge-event's body without workspace_id (the
 * client adds its own), and with the event_id that makes retries idempotent. */
export type BridgeEvent =
  & Omit<v.InferInput<typeof BridgeEventRequest>, "workspace_id" | "event_id">
  & { event_id: string };

/** bridge-approval-request's body (kind is always "command"). */
type ApprovalRequest = Omit<v.InferInput<typeof BridgeApprovalRequest>, "kind">;

export type Instruction = v.InferOutput<typeof RunInstructionsResponse>["instructions"][number];

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

/** Exponential backoff with full jitter, or the server's Retry-After when it gave one. */
function backoffMs(attempt: number, retry: RetryOptions, retryAfter?: string | null) {
  const seconds = retryAfter ? Number(retryAfter) : NaN;
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, 60_000);
  const cap = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** attempt);
  return cap / 2 + Math.random() * cap / 2;
}

function isRetryableStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

export class AgentOpsClient {
  readonly baseUrl: string;
  readonly workspaceId: string;
  #secret: string;
  #retry: RetryOptions;
  deadline?: number;

  constructor(options: ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.workspaceId = options.workspaceId;
    this.#secret = options.secret;
    this.#retry = { ...DEFAULT_RETRY, ...options.retry };
    this.deadline = options.deadline;
  }

  /** Sends one signed request, retrying network errors, 429 and 5xx with a new nonce and
   * timestamp (the body, and so any event_id / request_key in it, stays the same). */
  async request<T>(
    method: "GET" | "POST",
    path: string,
    options: { query?: string; body?: unknown; retry?: Partial<RetryOptions> } = {},
  ): Promise<{ status: number; body: T }> {
    const retry = { ...this.#retry, ...options.retry };
    const raw = options.body === undefined ? "" : JSON.stringify(options.body);
    const query = options.query ?? "";
    let lastError: unknown;
    for (let attempt = 0; attempt < retry.attempts; attempt++) {
      if (this.deadline !== undefined && Date.now() >= this.deadline) {
        lastError ??= new Error("the hook's time budget is spent");
        break;
      }
      const headers = await signedHeaders({
        workspaceId: this.workspaceId,
        secret: this.#secret,
        method,
        path,
        query,
        body: raw,
      });
      if (method === "POST") headers["content-type"] = "application/json";
      // A retry waits twice as long: a backend that is slow but alive gets its answer in,
      // one that never answers costs timeoutMs × 3 over two attempts.
      let timeoutMs = attempt === 0 ? retry.timeoutMs : retry.timeoutMs * 2;
      if (this.deadline !== undefined) {
        timeoutMs = Math.max(50, Math.min(timeoutMs, this.deadline - Date.now()));
      }
      // One signal for connect, headers and body: a backend that accepts the connection
      // and never answers (or stops mid-body) costs at most timeoutMs.
      const signal = AbortSignal.timeout(timeoutMs);
      let res: Response;
      let text: string;
      try {
        res = await fetch(`${this.baseUrl}${path}${query ? `?${query}` : ""}`, {
          method,
          headers,
          body: method === "POST" ? raw : undefined,
          signal,
        });
        text = await res.text();
      } catch (error) {
        lastError = timedOut(error)
          ? new Error(`no answer within ${timeoutMs} ms (${method} ${path})`)
          : error;
        if (attempt + 1 < retry.attempts) await this.#pause(backoffMs(attempt, retry));
        continue;
      }
      let body: unknown = null;
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        body = null;
      }
      if (res.ok) return { status: res.status, body: body as T };
      const err = (body as { error?: { code?: string; message?: string; details?: unknown } })
        ?.error;
      const apiError = new ApiError(
        res.status,
        err?.code ?? "unknown",
        err?.message ?? `HTTP ${res.status}`,
        err?.details,
      );
      if (!isRetryableStatus(res.status)) throw apiError;
      lastError = apiError;
      if (attempt + 1 < retry.attempts) {
        await this.#pause(backoffMs(attempt, retry, res.headers.get("retry-after")));
      }
    }
    throw new UnreachableError(
      `Cannot reach the AgentOps backend at ${this.baseUrl}: ${
        lastError instanceof Error ? lastError.message : String(lastError)
      }`,
      lastError,
    );
  }

  /** Sleeps between attempts, never past the deadline. */
  async #pause(ms: number): Promise<void> {
    const left = this.deadline === undefined ? ms : Math.min(ms, this.deadline - Date.now());
    if (left > 0) await sleep(left);
  }

  /** POST /bridge-event (idempotent on event_id). */
  async sendEvent(event: BridgeEvent, retry?: Partial<RetryOptions>) {
    const { body } = await this.request<v.InferOutput<typeof BridgeEventResponse>>(
      "POST",
      "/bridge-event",
      { body: { workspace_id: this.workspaceId, ...event }, retry },
    );
    return body;
  }

  /** POST /bridge-approval-request (idempotent on request_key). */
  async requestApproval(request: ApprovalRequest, retry?: Partial<RetryOptions>) {
    const { body } = await this.request<v.InferOutput<typeof BridgeApprovalResponse>>(
      "POST",
      "/bridge-approval-request",
      { body: { kind: "command", ...request }, retry },
    );
    return body;
  }

  /** Long-polls /bridge-approval-wait until the approval is decided or expired, or until
   * `deadline` (ms since epoch) passes: then the last PENDING state is returned. A poll
   * that gets no answer within its own timeout + 5 s counts as a failure; after
   * `maxFailures` in a row the backend is taken as gone (UnreachableError), so a backend
   * that accepts and never answers costs a bounded time, not the whole deadline. */
  async waitForApproval(
    approvalId: string,
    options: { deadline: number; maxPollSeconds?: number; maxFailures?: number },
  ): Promise<ApprovalState> {
    let last: ApprovalState | null = null;
    let failures = 0;
    while (true) {
      const remaining = Math.floor((options.deadline - Date.now()) / 1000);
      if (remaining <= 0 && last) return last;
      const timeout = Math.max(0, Math.min(options.maxPollSeconds ?? 90, remaining - 1));
      try {
        const { body } = await this.request<ApprovalState>(
          "GET",
          `/bridge-approval-wait/${approvalId}`,
          { query: `timeout=${timeout}`, retry: { attempts: 1, timeoutMs: (timeout + 5) * 1000 } },
        );
        failures = 0;
        last = body;
        if (body.status !== "PENDING") return body;
        if (Date.parse(body.expires_at) <= Date.now() - 2000) {
          return { ...body, status: "EXPIRED" };
        }
      } catch (error) {
        if (!(error instanceof UnreachableError)) throw error;
        failures++;
        if (failures >= (options.maxFailures ?? 3)) throw error;
        if (Date.now() >= options.deadline) {
          if (last) return last;
          throw error;
        }
        await sleep(Math.min(backoffMs(failures, this.#retry), options.deadline - Date.now()));
      }
    }
  }

  /** GET /bridge-run-instructions/:run_id: the run's pending instructions, now marked
   * delivered. A run the backend does not know yet has none. */
  async collectInstructions(
    runId: string,
    retry?: Partial<RetryOptions>,
  ): Promise<Instruction[]> {
    try {
      const { body } = await this.request<v.InferOutput<typeof RunInstructionsResponse>>(
        "GET",
        `/bridge-run-instructions/${runId}`,
        { retry },
      );
      return body.instructions;
    } catch (error) {
      if (error instanceof ApiError && error.code === "not_found") return [];
      throw error;
    }
  }

  /** GET /bridge-rules with If-None-Match: the workspace's active rules, or `null` when
   * `etag` is still current (304). One attempt within `timeoutMs`: the caller keeps its
   * cached set when this fails. */
  async fetchRules(
    etag: string | null,
    timeoutMs = 3_000,
  ): Promise<{ etag: string | null; version: string; rules: Rule[] } | null> {
    const headers = await signedHeaders({
      workspaceId: this.workspaceId,
      secret: this.#secret,
      method: "GET",
      path: "/bridge-rules",
      query: "",
      body: "",
    });
    if (etag) headers["if-none-match"] = etag;
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}/bridge-rules`, {
        headers,
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw new UnreachableError(`Cannot fetch rules from ${this.baseUrl}`, error);
    }
    if (res.status === 304) {
      await res.body?.cancel();
      return null;
    }
    const body = await res.json().catch(() => null);
    if (!res.ok) {
      throw new ApiError(
        res.status,
        body?.error?.code ?? "unknown",
        body?.error?.message ?? `HTTP ${res.status}`,
      );
    }
    return { etag: res.headers.get("etag"), version: body.version, rules: body.rules };
  }

  /** GET /pair-status?wait=<s>. */
  async pairStatus(wait = 0) {
    const { body } = await this.request<v.InferOutput<typeof PairStatusResponse>>(
      "GET",
      "/pair-status",
      {
        query: `wait=${wait}`,
        retry: { timeoutMs: (wait + 15) * 1000 },
      },
    );
    return body;
  }
}

/** POST /pair-start. Unsigned it always gets a new workspace; signed with the workspace's
 * current credentials (`current`, when this machine and project are already paired) it
 * keeps that workspace and its history, and returns a new secret for it. */
export async function pairStart(
  baseUrl: string,
  body: v.InferInput<typeof PairStartRequest>,
  current?: { workspaceId: string; secret: string },
): Promise<v.InferOutput<typeof PairStartResponse>> {
  const raw = JSON.stringify(body);
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (current) {
    Object.assign(
      headers,
      await signedHeaders({
        workspaceId: current.workspaceId,
        secret: current.secret,
        method: "POST",
        path: "/pair-start",
        body: raw,
      }),
    );
  }
  const res = await fetch(`${baseUrl.replace(/\/+$/, "")}/pair-start`, {
    method: "POST",
    headers,
    body: raw,
    signal: AbortSignal.timeout(15_000),
  });
  const json = await res.json().catch(() => null);
  if (!res.ok) {
    throw new ApiError(
      res.status,
      json?.error?.code ?? "unknown",
      json?.error?.message ?? `HTTP ${res.status}`,
      json?.error?.details,
    );
  }
  return json;
}
