// Parks pair-status long-polls until a device pairs with their workspace, the way the
// approval waiter parks approval waits: on the isolate's one LISTEN connection (listener.ts,
// shared with the approval waiter, opened on the first park) for `workspace_paired`, whose
// payload is only the
// workspace id and is never believed (any database login can NOTIFY): a notification
// makes the waiter re-read, in ONE query, every woken workspace. A batched poll (one
// query per interval for every workspace parked in the isolate) covers a lost
// notification or a LISTEN that is down. A workspace may park only so many requests at
// once (PAIR_STATUS_MAX_PARKED_PER_WORKSPACE): beyond that, 429.
import { type CheckBatch, createCheckQueue } from "./check_queue.ts";
import type { Sql } from "./db.ts";
import { HttpError } from "./http_error.ts";
import { createListener, type Listener } from "./listener.ts";
import type { Logger } from "./logger.ts";
import type * as v from "valibot";
import type { PairStatusResponse } from "@shared/api_schemas.ts";

export const WORKSPACE_PAIRED_CHANNEL = "workspace_paired";
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The answer of pair-status. */
export type PairingState = v.InferOutput<typeof PairStatusResponse>;

/** A place reserved for one request (taken before its first read, so a pairing between
 * that read and the park still wakes it). */
interface PairingSlot {
  /** Parks until the workspace is paired (its state), or the timeout, an abort or shutdown
   * (null: answer what the first read said). */
  wait(timeoutMs: number, signal?: AbortSignal): Promise<PairingState | null>;
  /** frees the place (always, in a finally) */
  release(): void;
}

interface PairingWaiterStats {
  parked: number;
  listening: boolean;
  /** batched reads sent (polls, notifications, LISTEN (re)connects) */
  queries: number;
}

export interface PairingWaiter {
  /** Reserves a place for a request of this workspace; 429 rate_limited when the
   * workspace already holds maxPerWorkspace of them in this isolate. */
  reserve(workspaceId: string): PairingSlot;
  /** how many requests hold a place */
  parked(): number;
  /** whether the LISTEN connection is up */
  readonly listening: boolean;
  stats(): PairingWaiterStats;
  /** answers every parked request at once (runtime shutdown); later waits answer at once */
  shutdown(): void;
  close(): Promise<void>;
}

interface PairingWaiterOptions {
  sql: Sql;
  /** the isolate's LISTEN connection (shared; its owner closes it) */
  listener?: Listener;
  /** without a listener: the direct database connection to LISTEN on (LISTEN does not work
   * through a transaction pooler); the waiter opens its own and closes it on close() */
  listenUrl?: string;
  log: Logger;
  /** without a listener: false polls only */
  listen?: boolean;
  /** the batched poll's interval (default 2 s) */
  pollMs?: number;
  /** parked requests per workspace at most (default 4) */
  maxPerWorkspace?: number;
}

/** Retry-After of a refused park: the client's next long-poll a moment later. */
const CAP_RETRY_AFTER_SECONDS = 2;

class Slot {
  resolve?: (state: PairingState | null) => void;
  timer?: ReturnType<typeof setTimeout>;
  onAbort?: () => void;
  signal?: AbortSignal;
  /** a notification for the workspace came after the reservation */
  notified = false;
  released = false;
  constructor(readonly workspaceId: string) {}
}

export function createPairingWaiter(options: PairingWaiterOptions): PairingWaiter {
  const pollMs = options.pollMs ?? 2000;
  const cap = options.maxPerWorkspace ?? 4;
  const slots = new Map<string, Set<Slot>>();
  let count = 0;
  let waiting = 0;
  let stopped = false;
  let queries = 0;

  // ---- answering ----------------------------------------------------------------------
  function answer(slot: Slot, state: PairingState | null): void {
    const resolve = slot.resolve;
    if (!resolve) return;
    slot.resolve = undefined;
    waiting--;
    clearTimeout(slot.timer);
    if (slot.onAbort) slot.signal?.removeEventListener("abort", slot.onAbort);
    resolve(state);
    if (waiting === 0) stopPoll();
  }

  // ---- batched reads: one query for every workspace that needs one ---------------------
  const checks = createCheckQueue({ read: flush, stopped: () => stopped });
  const checkSoon = checks.soon;

  function parkedWorkspaces(): string[] {
    const ids: string[] = [];
    for (const [id, set] of slots) {
      for (const s of set) {
        if (s.resolve) {
          ids.push(id);
          break;
        }
      }
    }
    return ids;
  }

  async function flush(batch: CheckBatch): Promise<void> {
    const parked = new Set(parkedWorkspaces());
    const ids = batch.all ? [...parked] : [...batch.ids].filter((id) => parked.has(id));
    if (ids.length === 0) return;
    queries++;
    try {
      const rows = await options.sql`
        select private.paired_states(${ids}::uuid[]) as states`;
      for (const state of rows[0].states as PairingState[]) {
        for (const s of slots.get(state.workspace_id) ?? []) answer(s, state);
      }
    } catch (error) {
      // The database is away: the parked stay parked; the next poll tries again.
      options.log.warn("pairing waiter check failed", {
        error: String(error),
        workspaces: ids.length,
      });
    }
  }

  // ---- the batched poll ---------------------------------------------------------------
  let pollTimer: ReturnType<typeof setInterval> | undefined;

  function startPoll(): void {
    if (pollTimer !== undefined || stopped) return;
    pollTimer = setInterval(() => checkSoon(), pollMs);
  }

  function stopPoll(): void {
    if (pollTimer !== undefined) clearInterval(pollTimer);
    pollTimer = undefined;
  }

  // ---- LISTEN: the isolate's one connection (listener.ts), held while a place is reserved
  // Up (first open, reconnect, reopen after an idle close): every parked workspace is
  // re-read once (a pairing made while nobody listened). Down: the poll alone wakes.
  let listening = false;
  const listener = options.listener ?? createListener({
    url: options.listenUrl ?? "",
    log: options.log,
    enabled: options.listen !== false && options.listenUrl !== undefined,
  });
  const listen = listener.subscribe(WORKSPACE_PAIRED_CHANNEL, {
    up() {
      listening = true;
      if (waiting > 0 && !stopped) checkSoon();
    },
    down() {
      listening = false;
    },
    notify(payload) {
      const workspaceId = payload.toLowerCase();
      if (!UUID_RE.test(workspaceId)) return;
      const set = slots.get(workspaceId);
      if (!set) return;
      for (const s of set) s.notified = true;
      checkSoon(workspaceId);
    },
  });

  // ---- the interface --------------------------------------------------------------------
  function reserve(workspaceId: string): PairingSlot {
    const key = workspaceId.toLowerCase();
    let set = slots.get(key);
    if (set && set.size >= cap) {
      throw new HttpError(
        "rate_limited",
        `Rate limited: this workspace already has ${cap} pair-status requests waiting`,
        { headers: { "retry-after": String(CAP_RETRY_AFTER_SECONDS) } },
      );
    }
    if (!set) slots.set(key, set = new Set());
    const slot = new Slot(key);
    set.add(slot);
    count++;
    if (!stopped) listen.busy();
    return {
      wait: (timeoutMs, signal) => wait(slot, timeoutMs, signal),
      release: () => release(slot),
    };
  }

  function wait(slot: Slot, timeoutMs: number, signal?: AbortSignal): Promise<PairingState | null> {
    if (stopped || slot.released || timeoutMs <= 0 || signal?.aborted) {
      return Promise.resolve(null);
    }
    return new Promise((resolve) => {
      slot.resolve = resolve;
      waiting++;
      slot.timer = setTimeout(() => answer(slot, null), timeoutMs);
      if (signal) {
        slot.signal = signal;
        slot.onAbort = () => answer(slot, null);
        signal.addEventListener("abort", slot.onAbort, { once: true });
      }
      startPoll();
      // Paired between the reservation and now (the first read missed it): read again.
      if (slot.notified) checkSoon(slot.workspaceId);
    });
  }

  function release(slot: Slot): void {
    if (slot.released) return;
    slot.released = true;
    answer(slot, null);
    const set = slots.get(slot.workspaceId);
    set?.delete(slot);
    if (set?.size === 0) slots.delete(slot.workspaceId);
    count--;
    if (count === 0) listen.idle();
  }

  const onUnload = () => waiter.shutdown();
  const edge = typeof (globalThis as { EdgeRuntime?: unknown }).EdgeRuntime !== "undefined";
  if (edge) globalThis.addEventListener("beforeunload", onUnload);

  const waiter: PairingWaiter = {
    reserve,
    parked: () => count,
    get listening() {
      return listening;
    },
    stats: () => ({ parked: waiting, listening, queries }),
    shutdown() {
      stopped = true;
      for (const set of slots.values()) for (const s of set) answer(s, null);
      stopPoll();
    },
    async close() {
      waiter.shutdown();
      if (edge) globalThis.removeEventListener("beforeunload", onUnload);
      await checks.running;
      listen.idle();
      if (!options.listener) await listener.close();
      listening = false;
    },
  };
  return waiter;
}
