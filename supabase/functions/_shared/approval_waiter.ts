// Parks long-poll requests until their approval is decided or expires (SPEC section 7).
// One waiter per isolate: a Map of parked requests, one min-heap of deadlines under one
// timer, the isolate's one LISTEN connection (listener.ts: shared with the pairing waiter,
// opened on the first park, never at import) and one batched query for every check, so the
// database sees no query per waiter per interval.
import { type CheckBatch, createCheckQueue } from "./check_queue.ts";
import type { Config } from "./config.ts";
import type { Sql } from "./db.ts";
import { DeadlineHeap } from "./deadline_heap.ts";
import { createListener, type Listener } from "./listener.ts";
import type { Logger } from "./logger.ts";
import type { ApprovalState } from "@shared/api_schemas.ts";

/** The answer of bridge-approval-wait (defined with its schema). */
export type { ApprovalState };

export interface WaitOptions {
  /** how long to park at most; then the answer is null (still pending) */
  timeoutMs: number;
  /** the approval's expires_at: the waiter expires it then and answers EXPIRED */
  expiresAt: string | number;
  /** the client went away: stop waiting */
  signal?: AbortSignal;
}

interface WaiterStats {
  parked: number;
  listening: boolean;
  /** batched queries run (polls, NOTIFY checks, expiries, reconnect checks) */
  queries: number;
}

export interface ApprovalWaiter {
  /** Parks until the approval leaves PENDING (its new state) or until the timeout, an
   * abort or shutdown (null: still pending, the client asks again). */
  wait(approvalId: string, options: WaitOptions): Promise<ApprovalState | null>;
  /** answers every parked request at once (runtime shutdown); later waits answer at once */
  shutdown(): void;
  /** shutdown, then stops the timers and the LISTEN connection */
  close(): Promise<void>;
  stats(): WaiterStats;
}

interface WaiterDeps {
  config: Pick<
    Config,
    "SUPABASE_DB_URL" | "APPROVAL_WAIT_LISTEN" | "APPROVAL_WAIT_POLL_MS"
  >;
  sql: Sql;
  log: Logger;
  /** read when an expiry enqueued clear pushes */
  push?: { deliverSoon(): void };
  /** the isolate's LISTEN connection (shared; its owner closes it). Without one the waiter
   * opens its own on SUPABASE_DB_URL (when APPROVAL_WAIT_LISTEN) and closes it on close(). */
  listener?: Listener;
}

interface WaiterOptions {
  /** the batched poll's interval while LISTEN is up (default 10 × APPROVAL_WAIT_POLL_MS,
   * at least 5 s): a safety net for a lost notification */
  safetyPollMs?: number;
}

const APPROVAL_CHANNEL = "approval_decided";
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** how long a NOTIFY is remembered, for a request parked just after it arrived */
const RECENT_NOTIFY_MS = 30_000;
const RECENT_NOTIFY_MAX = 4096;
/** retry of an expiry the database did not see yet (clock skew) or could not write */
const EXPIRY_RETRY_MS = 250;

// One parked request. A class so 10,000 of them share one hidden class.
class Parked {
  done = false;
  due: number;
  onAbort?: () => void;
  constructor(
    readonly approvalId: string,
    readonly resolve: (state: ApprovalState | null) => void,
    readonly timeoutAt: number,
    public expiresAt: number,
    readonly signal: AbortSignal | undefined,
  ) {
    this.due = Math.min(timeoutAt, expiresAt);
  }
}

export function createApprovalWaiter(
  deps: WaiterDeps,
  options: WaiterOptions = {},
): ApprovalWaiter {
  const { config, log } = deps;
  const pollMs = config.APPROVAL_WAIT_POLL_MS;
  const safetyPollMs = options.safetyPollMs ?? Math.max(5_000, 10 * pollMs);
  const parked = new ParkedIndex();
  const heap = new DeadlineHeap<Parked>();
  let live = 0;
  let stopped = false;
  let queries = 0;

  // ---- parking ------------------------------------------------------------------------
  function add(p: Parked): void {
    parked.add(p);
    live++;
    heap.push(p);
    armDeadline();
    armPoll();
    listen.busy();
  }

  function finish(p: Parked, state: ApprovalState | null): void {
    if (p.done) return;
    p.done = true;
    live--;
    parked.remove(p);
    if (p.onAbort) p.signal?.removeEventListener("abort", p.onAbort);
    p.resolve(state);
    if (live === 0) {
      // Nothing parked: no timer left behind (an idle isolate keeps none running), and the
      // LISTEN connection may close once the other waiter holds nothing either.
      heap.clear();
      clearTimers();
      listen.idle();
    } else if (heap.size > 1024 && heap.size > 2 * live) heap.compact();
  }

  function settle(state: ApprovalState): void {
    for (const p of parked.entries(state.approval_id)) finish(p, state);
  }

  // ---- one timer for every deadline (timeouts and expiries) ----------------------------
  let deadlineTimer: ReturnType<typeof setTimeout> | undefined;
  let deadlineAt = Infinity;

  function armDeadline(): void {
    const top = heap.peekLive();
    if (!top) {
      if (deadlineTimer !== undefined) clearTimeout(deadlineTimer);
      deadlineTimer = undefined;
      deadlineAt = Infinity;
      return;
    }
    if (deadlineTimer !== undefined && deadlineAt <= top.due) return;
    if (deadlineTimer !== undefined) clearTimeout(deadlineTimer);
    deadlineAt = top.due;
    deadlineTimer = setTimeout(onDeadline, Math.max(0, top.due - Date.now()));
  }

  function onDeadline(): void {
    deadlineTimer = undefined;
    deadlineAt = Infinity;
    const now = Date.now();
    for (let top = heap.peek(); top && (top.done || top.due <= now); top = heap.peek()) {
      heap.pop();
      if (top.done) continue;
      if (top.timeoutAt <= now) {
        finish(top, null);
      } else {
        // Its approval expires: expire it in SQL (idempotent), which answers EXPIRED. Until
        // that query answers, the entry waits again a little (or until its timeout).
        checkSoon(top.approvalId);
        top.expiresAt = now + EXPIRY_RETRY_MS;
        top.due = Math.min(top.timeoutAt, top.expiresAt);
        heap.push(top);
      }
    }
    armDeadline();
  }

  // ---- batched checks: one query for every approval that needs one ---------------------
  const checks = createCheckQueue({ read: flush, stopped: () => stopped });
  const checkSoon = checks.soon;

  async function flush(batch: CheckBatch): Promise<void> {
    const ids = batch.all ? [...parked.keys()] : [...batch.ids].filter((id) => parked.has(id));
    if (ids.length === 0) return;
    queries++;
    try {
      const rows = await deps.sql`select private.settle_approvals(${ids}::uuid[]) as result`;
      const result = rows[0].result as { expired: number; settled: ApprovalState[] };
      for (const state of result.settled) settle(state);
      if (result.expired > 0) deps.push?.deliverSoon();
    } catch (error) {
      // The database is away: the parked stay parked; the poll and the expiry retries try
      // again.
      log.warn("approval waiter check failed", { error: String(error), approvals: ids.length });
    }
  }

  // ---- the batched poll (the only wake-up without LISTEN; a safety net with it) --------
  let pollTimer: ReturnType<typeof setTimeout> | undefined;

  function armPoll(): void {
    if (pollTimer !== undefined || stopped || live === 0) return;
    pollTimer = setTimeout(onPoll, listening ? safetyPollMs : pollMs);
  }

  /** the LISTEN state changed: the poll's interval with it */
  function reArmPoll(): void {
    if (pollTimer !== undefined) clearTimeout(pollTimer);
    pollTimer = undefined;
    armPoll();
  }

  function onPoll(): void {
    pollTimer = undefined;
    if (stopped || live === 0) return;
    listen.busy(); // LISTEN down: try again (unless within the pause after a failure)
    checkSoon();
    armPoll();
  }

  // ---- LISTEN: the isolate's one connection (listener.ts) --------------------------------
  // Up: the poll slows to the safety interval and everything parked is checked once (what
  // was decided while nobody listened). Down (lost, or closed idle): the poll runs at
  // APPROVAL_WAIT_POLL_MS until it is back.
  let listening = false;
  const recent = new RecentIds();
  const listener = deps.listener ?? createListener({
    url: config.SUPABASE_DB_URL,
    log,
    enabled: config.APPROVAL_WAIT_LISTEN,
  });
  const listen = listener.subscribe(APPROVAL_CHANNEL, {
    up() {
      if (stopped) return;
      listening = true;
      reArmPoll();
      if (live > 0) checkSoon();
    },
    down() {
      listening = false;
      if (!stopped) reArmPoll();
    },
    notify(payload) {
      // The payload says only which approval changed. Any database login can NOTIFY, so
      // it is never taken for the answer: the woken approvals are re-read in one query.
      const approvalId = payload.toLowerCase();
      if (!UUID_RE.test(approvalId)) return;
      recent.add(approvalId);
      if (parked.has(approvalId)) checkSoon(approvalId);
    },
  });

  // ---- the interface --------------------------------------------------------------------
  function wait(approvalId: string, opts: WaitOptions): Promise<ApprovalState | null> {
    if (stopped || opts.timeoutMs <= 0 || opts.signal?.aborted) return Promise.resolve(null);
    const now = Date.now();
    const expiresAt = typeof opts.expiresAt === "number"
      ? opts.expiresAt
      : Date.parse(opts.expiresAt);
    return new Promise((resolve) => {
      const p = new Parked(
        approvalId,
        resolve,
        now + opts.timeoutMs,
        Number.isFinite(expiresAt) ? expiresAt : Infinity,
        opts.signal,
      );
      if (opts.signal) {
        p.onAbort = () => finish(p, null);
        opts.signal.addEventListener("abort", p.onAbort, { once: true });
      }
      add(p);
      // A NOTIFY that arrived between the first read and this park would be lost.
      if (recent.has(approvalId)) checkSoon(approvalId);
    });
  }

  function shutdown(): void {
    stopped = true;
    for (const key of [...parked.keys()]) {
      for (const p of parked.entries(key)) finish(p, null);
    }
    heap.clear();
    clearTimers();
    listen.idle();
  }

  function clearTimers(): void {
    if (deadlineTimer !== undefined) clearTimeout(deadlineTimer);
    if (pollTimer !== undefined) clearTimeout(pollTimer);
    deadlineTimer = pollTimer = undefined;
    deadlineAt = Infinity;
  }

  async function close(): Promise<void> {
    shutdown();
    await checks.running;
    if (!deps.listener) await listener.close();
    listening = false;
  }

  return {
    wait,
    shutdown,
    close,
    stats: () => ({ parked: live, listening, queries }),
  };
}

/** The parked requests by approval id: one entry, or an array when several clients wait on
 * the same approval (rare), so the common case costs no array. */
class ParkedIndex {
  #byId = new Map<string, Parked | Parked[]>();
  add(p: Parked): void {
    const existing = this.#byId.get(p.approvalId);
    if (existing === undefined) this.#byId.set(p.approvalId, p);
    else if (Array.isArray(existing)) existing.push(p);
    else this.#byId.set(p.approvalId, [existing, p]);
  }
  remove(p: Parked): void {
    const existing = this.#byId.get(p.approvalId);
    if (existing === p) this.#byId.delete(p.approvalId);
    else if (Array.isArray(existing)) {
      const rest = existing.filter((x) => x !== p);
      if (rest.length === 0) this.#byId.delete(p.approvalId);
      else this.#byId.set(p.approvalId, rest.length === 1 ? rest[0] : rest);
    }
  }
  /** a copy: finishing an entry changes the index */
  entries(approvalId: string): Parked[] {
    const e = this.#byId.get(approvalId);
    return e === undefined ? [] : Array.isArray(e) ? [...e] : [e];
  }
  has(approvalId: string): boolean {
    return this.#byId.has(approvalId);
  }
  keys(): IterableIterator<string> {
    return this.#byId.keys();
  }
}

/** The approval ids of recent NOTIFYs (RECENT_NOTIFY_MS, RECENT_NOTIFY_MAX at most), for a
 * request parked just after its notification arrived. */
class RecentIds {
  #at = new Map<string, number>();
  add(id: string): void {
    const now = Date.now();
    const at = this.#at;
    at.delete(id);
    at.set(id, now);
    for (const [old, when] of at) {
      if (at.size <= RECENT_NOTIFY_MAX && now - when < RECENT_NOTIFY_MS) break;
      at.delete(old);
    }
  }
  has(id: string): boolean {
    return this.#at.has(id);
  }
}
