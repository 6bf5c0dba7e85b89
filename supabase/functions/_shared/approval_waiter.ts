// Parks long-poll requests until their approval is decided or expires
// (docs/contract/waiting.md#approval-waiter). One waiter per isolate, wired from small parts: the
// parked requests by id (parked_index.ts), one timer for every timeout and expiry
// (deadline_heap.ts), the isolate's one LISTEN connection (listener.ts: shared with the pairing
// waiter, opened on the first park, never at import) and one batched query for every check
// (check_queue.ts), so the database sees no query per waiter per interval.
import { type CheckBatch, createCheckQueue } from "./check_queue.ts";
import type { Config } from "./config.ts";
import type { Sql } from "./db.ts";
import { DeadlineTimer } from "./deadline_heap.ts";
import { createListener, type Listener } from "./listener.ts";
import type { Logger } from "./logger.ts";
import { Parked as ParkedRequest, ParkedIndex, RecentIds } from "./parked_index.ts";
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
  /** Parks until the approval leaves PENDING (its new state, re-read:
   * private.settle_approvals; a decision is marked delivered right after it is handed out:
   * private.mark_approvals_delivered) or until the timeout, an abort or shutdown (null:
   * still pending, the client asks again). */
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
/** retry of an expiry the database did not see yet (clock skew) or could not write */
const EXPIRY_RETRY_MS = 250;
/** retry of delivery receipts the database could not write */
const RECEIPT_RETRY_MS = 1_000;

type Parked = ParkedRequest<ApprovalState>;

/** `select <fn>('{id,…}'::uuid[]) as result` with the ids in the text, as a tagged
 * template without parameters: postgres.js with `prepare: false` sends a query that has
 * parameters in two round trips (Parse/Describe first, then Bind/Execute), one without in
 * one, and this is on the decision → answer path (bench/FINDINGS.md). Only ids that are
 * UUIDs are written (the rest cannot be approvals: they are left to their timeouts). */
function withIds(fn: string, ids: readonly string[]): TemplateStringsArray {
  const text = `select ${fn}('{${ids.filter((id) => UUID_RE.test(id)).join(",")}}'::uuid[]) ` +
    `as result`;
  return Object.assign([text], { raw: [text] }) as unknown as TemplateStringsArray;
}

/** Stamps of the wake-up path for bench/approval.ts (unset in production: one check each). */
export const waiterTrace: {
  on?: (step: "notified" | "read" | "settled", ids: readonly string[]) => void;
} = {};

export function createApprovalWaiter(
  deps: WaiterDeps,
  options: WaiterOptions = {},
): ApprovalWaiter {
  const { config, log } = deps;
  const pollMs = config.APPROVAL_WAIT_POLL_MS;
  const safetyPollMs = options.safetyPollMs ?? Math.max(5_000, 10 * pollMs);
  const parked = new ParkedIndex<Parked>();
  let live = 0;
  let stopped = false;
  let closed = false;
  let queries = 0;

  // ---- parking ------------------------------------------------------------------------
  function add(p: Parked): void {
    parked.add(p);
    live++;
    deadlines.add(p);
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
      deadlines.clear();
      clearPoll();
      listen.idle();
    } else if (deadlines.heap.size > 1024 && deadlines.heap.size > 2 * live) {
      deadlines.heap.compact();
    }
  }

  /** hands the state to every request parked on it; true when a decision was handed out */
  function settle(state: ApprovalState): boolean {
    const entries = parked.entries(state.approval_id);
    for (const p of entries) finish(p, state);
    return entries.length > 0 && (state.status === "APPROVED" || state.status === "DENIED");
  }

  // ---- one timer for every deadline (timeouts and expiries) ----------------------------
  const deadlines = new DeadlineTimer<Parked>((p, now) => {
    if (p.timeoutAt <= now) {
      finish(p, null);
      return;
    }
    // Its approval expires: expire it in SQL (idempotent), which answers EXPIRED. Until
    // that query answers, the entry waits again a little (or until its timeout).
    checks.soon(p.approvalId);
    p.expiresAt = now + EXPIRY_RETRY_MS;
    p.due = Math.min(p.timeoutAt, p.expiresAt);
    deadlines.requeue(p);
  });

  // ---- batched checks: one query for every approval that needs one ---------------------
  const checks = createCheckQueue({
    stopped: () => stopped,
    async read(batch: CheckBatch) {
      const ids = batch.all ? [...parked.keys()] : [...batch.ids].filter((id) => parked.has(id));
      if (ids.length === 0) return;
      queries++;
      waiterTrace.on?.("read", ids);
      try {
        const rows = await deps.sql(withIds("private.settle_approvals", ids));
        waiterTrace.on?.("settled", ids);
        const result = rows[0].result as { expired: number; settled: ApprovalState[] };
        for (const state of result.settled) {
          if (settle(state)) receipts.soon(state.approval_id);
        }
        if (result.expired > 0) deps.push?.deliverSoon();
      } catch (error) {
        // The database is away: the parked stay parked; the poll and the expiry retries
        // try again.
        log.warn("approval waiter check failed", { error: String(error), approvals: ids.length });
      }
    },
  });

  // ---- delivery receipts: written after the answers, batched ------------------------------
  // The decision is committed before its NOTIFY, so the answer needs no write; the receipt
  // (delivered_at, APPROVAL_DELIVERED) follows on a zero timer, after the responses just
  // handed out are on their way. Never two at once; a failed batch is tried again.
  const receipts = createCheckQueue({
    stopped: () => false, // a receipt is owed even after shutdown answered the parked
    defer: (start) => setTimeout(start, 0),
    async read(batch: CheckBatch) {
      const ids = [...batch.ids];
      try {
        await deps.sql(withIds("private.mark_approvals_delivered", ids));
      } catch (error) {
        log.warn("approval waiter cannot record deliveries", {
          error: String(error),
          approvals: ids.length,
        });
        if (!closed) {
          setTimeout(() => {
            if (!closed) { for (const id of ids) receipts.soon(id); }
          }, RECEIPT_RETRY_MS);
        }
      }
    },
  });

  // ---- the batched poll (the only wake-up without LISTEN; a safety net with it) --------
  let pollTimer: ReturnType<typeof setTimeout> | undefined;

  function armPoll(): void {
    if (pollTimer !== undefined || stopped || live === 0) return;
    pollTimer = setTimeout(onPoll, listening ? safetyPollMs : pollMs);
  }

  function clearPoll(): void {
    if (pollTimer !== undefined) clearTimeout(pollTimer);
    pollTimer = undefined;
  }

  /** the LISTEN state changed: the poll's interval with it */
  function reArmPoll(): void {
    clearPoll();
    armPoll();
  }

  function onPoll(): void {
    pollTimer = undefined;
    if (stopped || live === 0) return;
    listen.busy(); // LISTEN down: try again (unless within the pause after a failure)
    checks.soon();
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
      if (live > 0) checks.soon();
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
      waiterTrace.on?.("notified", [approvalId]);
      recent.add(approvalId);
      if (parked.has(approvalId)) checks.soon(approvalId);
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
      const p: Parked = new ParkedRequest(
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
      if (recent.has(approvalId)) checks.soon(approvalId);
    });
  }

  function shutdown(): void {
    stopped = true;
    for (const key of [...parked.keys()]) {
      for (const p of parked.entries(key)) finish(p, null);
    }
    deadlines.clear();
    clearPoll();
    listen.idle();
  }

  async function close(): Promise<void> {
    shutdown();
    await checks.running;
    await receipts.drained(); // the receipts of what was answered
    closed = true;
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
