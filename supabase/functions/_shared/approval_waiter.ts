// Parks long-poll requests until their approval is decided or expires (SPEC section 7).
// One waiter per isolate: a Map of parked requests, one min-heap of deadlines under one
// timer, one LISTEN connection (opened on the first park, never at import) and one batched
// query for every check, so the database sees no query per waiter per interval.
import postgres from "postgres";
import type { Config } from "./config.ts";
import { reconnectBackoff, type Sql } from "./db.ts";
import type { Logger } from "./logger.ts";

/** The answer of bridge-approval-wait. */
export interface ApprovalState {
  approval_id: string;
  status: "PENDING" | "APPROVED" | "DENIED" | "EXPIRED";
  note: string | null;
  decided_at: string | null;
  expires_at: string;
}

export interface WaitOptions {
  /** how long to park at most; then the answer is null (still pending) */
  timeoutMs: number;
  /** the approval's expires_at: the waiter expires it then and answers EXPIRED */
  expiresAt: string | number;
  /** the client went away: stop waiting */
  signal?: AbortSignal;
}

export interface WaiterStats {
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

export interface WaiterDeps {
  config: Pick<
    Config,
    "SUPABASE_DB_URL" | "APPROVAL_WAIT_LISTEN" | "APPROVAL_WAIT_POLL_MS"
  >;
  sql: Sql;
  log: Logger;
  /** read when an expiry enqueued clear pushes */
  push?: { deliverSoon(): void };
}

export interface WaiterOptions {
  /** the batched poll's interval while LISTEN is up (default 10 × APPROVAL_WAIT_POLL_MS,
   * at least 5 s): a safety net for a lost notification */
  safetyPollMs?: number;
}

export const APPROVAL_CHANNEL = "approval_decided";
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** how long a NOTIFY is remembered, for a request parked just after it arrived */
const RECENT_NOTIFY_MS = 30_000;
const RECENT_NOTIFY_MAX = 4096;
/** retry of an expiry the database did not see yet (clock skew) or could not write */
const EXPIRY_RETRY_MS = 250;
/** pause between attempts to LISTEN after one failed (the poll runs meanwhile) */
const LISTEN_RETRY_MS = 5_000;

// One parked request. A class so 10,000 of them share one hidden class.
class Parked {
  done = false;
  due: number;
  constructor(
    readonly approvalId: string,
    readonly resolve: (state: ApprovalState | null) => void,
    readonly timeoutAt: number,
    public expiresAt: number,
    readonly signal: AbortSignal | undefined,
  ) {
    this.due = Math.min(timeoutAt, expiresAt);
  }
  onAbort?: () => void;
}

// A binary min-heap on `due`; resolved entries are skipped when they reach the top and
// swept out when they outnumber the live ones.
class DeadlineHeap {
  items: Parked[] = [];
  push(p: Parked): void {
    const a = this.items;
    a.push(p);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (a[parent].due <= a[i].due) break;
      [a[parent], a[i]] = [a[i], a[parent]];
      i = parent;
    }
  }
  peek(): Parked | undefined {
    return this.items[0];
  }
  pop(): Parked | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < a.length && a[l].due < a[m].due) m = l;
        if (r < a.length && a[r].due < a[m].due) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i], a[m]];
        i = m;
      }
    }
    return top;
  }
  compact(): void {
    const live = this.items.filter((p) => !p.done);
    this.items = [];
    for (const p of live) this.push(p);
  }
}

export function createApprovalWaiter(
  deps: WaiterDeps,
  options: WaiterOptions = {},
): ApprovalWaiter {
  const { config, log } = deps;
  const pollMs = config.APPROVAL_WAIT_POLL_MS;
  const safetyPollMs = options.safetyPollMs ?? Math.max(5_000, 10 * pollMs);
  const parked = new Map<string, Parked | Parked[]>();
  const heap = new DeadlineHeap();
  let live = 0;
  let stopped = false;
  let queries = 0;

  // ---- parking ------------------------------------------------------------------------
  function add(p: Parked): void {
    const existing = parked.get(p.approvalId);
    if (existing === undefined) parked.set(p.approvalId, p);
    else if (Array.isArray(existing)) existing.push(p);
    else parked.set(p.approvalId, [existing, p]);
    live++;
    heap.push(p);
    armDeadline();
    armPoll();
  }

  function remove(p: Parked): void {
    const existing = parked.get(p.approvalId);
    if (existing === p) parked.delete(p.approvalId);
    else if (Array.isArray(existing)) {
      const rest = existing.filter((x) => x !== p);
      if (rest.length === 0) parked.delete(p.approvalId);
      else parked.set(p.approvalId, rest.length === 1 ? rest[0] : rest);
    }
  }

  function finish(p: Parked, state: ApprovalState | null): void {
    if (p.done) return;
    p.done = true;
    live--;
    remove(p);
    if (p.onAbort) p.signal?.removeEventListener("abort", p.onAbort);
    p.resolve(state);
    if (live === 0) {
      // Nothing parked: no timer left behind (an idle isolate keeps none running).
      heap.items = [];
      clearTimers();
    } else if (heap.items.length > 1024 && heap.items.length > 2 * live) heap.compact();
  }

  function entries(approvalId: string): Parked[] {
    const e = parked.get(approvalId);
    return e === undefined ? [] : Array.isArray(e) ? [...e] : [e];
  }

  function settle(state: ApprovalState): void {
    for (const p of entries(state.approval_id)) finish(p, state);
  }

  // ---- one timer for every deadline (timeouts and expiries) ----------------------------
  let deadlineTimer: ReturnType<typeof setTimeout> | undefined;
  let deadlineAt = Infinity;

  function armDeadline(): void {
    let top = heap.peek();
    while (top && top.done) {
      heap.pop();
      top = heap.peek();
    }
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
  const toCheck = new Set<string>();
  let checkAll = false;
  let flushing: Promise<void> | undefined;
  let flushQueued = false;

  function checkSoon(approvalId?: string): void {
    if (approvalId === undefined) checkAll = true;
    else toCheck.add(approvalId);
    scheduleFlush();
  }

  function scheduleFlush(): void {
    if (flushing || flushQueued) return;
    flushQueued = true;
    queueMicrotask(startFlush);
  }

  function startFlush(): void {
    flushQueued = false;
    if (stopped) return;
    flushing = flush().finally(() => {
      flushing = undefined;
      if (!stopped && (checkAll || toCheck.size > 0)) scheduleFlush();
    });
  }

  async function flush(): Promise<void> {
    const ids = checkAll ? [...parked.keys()] : [...toCheck].filter((id) => parked.has(id));
    checkAll = false;
    toCheck.clear();
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
    if (canStartListen()) startListen();
    checkSoon();
    armPoll();
  }

  // ---- LISTEN: one connection per isolate, opened on the first park --------------------
  // A dedicated postgres.js client of one connection (to SUPABASE_DB_URL: the pooler in
  // transaction mode cannot LISTEN) whose onnotify/onclose hooks say whether LISTEN is up,
  // so the poll runs at APPROVAL_WAIT_POLL_MS while it is down and slowly while it is up.
  let listenSql: Sql | undefined;
  let listening = false;
  let listenStarting = false;
  let relistenTimer: ReturnType<typeof setTimeout> | undefined;
  const recent = new Map<string, number>();

  function onNotify(channel: string, payload: string): void {
    if (channel !== APPROVAL_CHANNEL) return;
    // The payload says only which approval changed. Any database login can NOTIFY, so it
    // is never taken for the answer: the woken approvals are re-read in one batched query.
    const approvalId = payload.toLowerCase();
    if (!UUID_RE.test(approvalId)) return;
    const now = Date.now();
    recent.delete(approvalId);
    recent.set(approvalId, now);
    for (const [id, at] of recent) {
      if (recent.size <= RECENT_NOTIFY_MAX && now - at < RECENT_NOTIFY_MS) break;
      recent.delete(id);
    }
    if (parked.has(approvalId)) checkSoon(approvalId);
  }

  function onListenClosed(): void {
    if (stopped || !listening) return; // a failed attempt: the next poll tries again
    log.warn("approval waiter lost its LISTEN connection", { parked: live });
    listening = false;
    // Come back at once while requests are parked (else on the next park); until then
    // the batched poll runs at its full rate.
    scheduleListen(0);
    reArmPoll();
  }

  function scheduleListen(delayMs: number): void {
    if (stopped || live === 0 || relistenTimer !== undefined) return;
    relistenTimer = setTimeout(() => {
      relistenTimer = undefined;
      if (live > 0 && canStartListen()) startListen();
    }, delayMs);
  }

  function startListen(): void {
    listenStarting = true;
    // `onnotify` is the hook postgres.js's own sql.listen() is built on (src/index.js,
    // 3.4.x, pinned); sql.listen() itself hides the connection's close, which we need.
    const listenOptions = {
      max: 1,
      prepare: false,
      max_lifetime: null,
      connect_timeout: 5,
      fetch_types: false,
      backoff: reconnectBackoff,
      onnotice: () => {},
      onnotify: onNotify,
      onclose: onListenClosed,
      connection: { application_name: "agentops-waiter" },
    };
    listenSql ??= postgres(config.SUPABASE_DB_URL, listenOptions as postgres.Options<never>);
    listenSql.unsafe(`listen ${APPROVAL_CHANNEL}`).then(() => {
      listenStarting = false;
      if (stopped) return;
      const again = listenedBefore;
      listenedBefore = listening = true;
      if (again) log.info("approval waiter listening again", { parked: live });
      reArmPoll();
      // Whatever was decided while nobody listened is found by one check of everything.
      if (live > 0) checkSoon();
    }, (error) => {
      listenStarting = false;
      // Polling meanwhile; try again after a pause (and say so once per pause, not per poll).
      const now = Date.now();
      if (nextListenAttempt <= now) {
        log.warn("approval waiter cannot LISTEN; polling", { error: String(error) });
      }
      nextListenAttempt = now + LISTEN_RETRY_MS;
      scheduleListen(LISTEN_RETRY_MS);
    });
  }
  let listenedBefore = false;
  let nextListenAttempt = 0;

  function canStartListen(): boolean {
    return config.APPROVAL_WAIT_LISTEN && !listening && !listenStarting && !stopped &&
      Date.now() >= nextListenAttempt;
  }

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
      if (canStartListen()) startListen();
      // A NOTIFY that arrived between the first read and this park would be lost.
      if (recent.has(approvalId)) checkSoon(approvalId);
    });
  }

  function shutdown(): void {
    stopped = true;
    for (const key of [...parked.keys()]) {
      for (const p of entries(key)) finish(p, null);
    }
    heap.items = [];
    clearTimers();
  }

  function clearTimers(): void {
    if (deadlineTimer !== undefined) clearTimeout(deadlineTimer);
    if (pollTimer !== undefined) clearTimeout(pollTimer);
    if (relistenTimer !== undefined) clearTimeout(relistenTimer);
    deadlineTimer = pollTimer = relistenTimer = undefined;
    deadlineAt = Infinity;
  }

  async function close(): Promise<void> {
    shutdown();
    await flushing;
    if (listenSql) await listenSql.end({ timeout: 1 });
    listening = false;
  }

  return {
    wait,
    shutdown,
    close,
    stats: () => ({ parked: live, listening, queries }),
  };
}
