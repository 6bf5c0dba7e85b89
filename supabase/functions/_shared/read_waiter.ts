// Parks the web app's long-polls (mobile-inbox?wait, mobile-run-events?wait) until what they
// read changes. Each parked request names a key to re-read and the workspaces whose
// approval changes wake it: `NOTIFY approvals_changed` (payload: a workspace id, never
// believed) on the isolate's one LISTEN connection (listener.ts, shared with the approval
// and pairing waiters) makes the waiter re-read, in ONE batched read, every woken key, and
// `workspace_paired` every key that waits for approvals (a new workspace in an inbox). A
// batched poll (one read per interval for the keys it concerns) covers what NOTIFY does not
// announce (a run's other events), a LISTEN that is down, and, every SAFETY_POLL_EVERY
// intervals, everything (an unpairing, a lost notification). A parked request may also name
// a moment to re-read (the inbox's earliest expiry). A user parks a few requests at most
// (429 beyond), counted before the first read so a refused request costs nothing.
import { type CheckBatch, createCheckQueue } from "./check_queue.ts";
import { HttpError } from "./http_error.ts";
import type { Listener } from "./listener.ts";
import { WORKSPACE_PAIRED_CHANNEL } from "./pairing_waiter.ts";
import type { Logger } from "./logger.ts";

export const APPROVALS_CHANGED_CHANNEL = "approvals_changed";
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** While LISTEN is up, the poll re-reads requests that NOTIFY wakes every this many
 * intervals only (a safety net for what no notification says). */
export const SAFETY_POLL_EVERY = 10;
/** Retry-After of a refused park: the app's next long-poll a moment later. */
const CAP_RETRY_AFTER_SECONDS = 2;

/** Re-reads the given keys in one round; answers the state of each key it found. */
type BatchRead<S> = (keys: string[]) => Promise<Map<string, S>>;

interface ParkOptions<S> {
  /** what to re-read (the same key for requests that read the same thing) */
  key: string;
  /** workspace ids whose NOTIFY approvals_changed wakes it */
  topics: string[];
  /** NOTIFY announces every change it waits for (approvals, pairings): while LISTEN is up
   * the poll re-reads it only every SAFETY_POLL_EVERY intervals, not every interval */
  notified?: boolean;
  /** answer when the re-read state satisfies this */
  done(state: S): boolean;
  timeoutMs: number;
  /** epoch ms when to re-read anyway (e.g. the earliest expiry shown) */
  recheckAt?: number;
  signal?: AbortSignal;
}

interface ReadSlot<S> {
  /** Parks until a re-read is done(), or the timeout, an abort or shutdown (null). */
  wait(options: ParkOptions<S>): Promise<S | null>;
  /** frees the place (always, in a finally) */
  release(): void;
}

export interface ReadWaiter<S> {
  /** Reserves a place for one request of this user; 429 when the user holds the cap. */
  reserve(userId: string): ReadSlot<S>;
  stats(): { parked: number; reserved: number; reads: number; listening: boolean };
  /** answers every parked request at once (runtime shutdown); later waits answer at once */
  shutdown(): void;
  close(): Promise<void>;
}

interface ReadWaiterOptions<S> {
  read: BatchRead<S>;
  listener: Listener;
  log: Logger;
  pollMs: number;
  maxPerUser: number;
  /** parked requests in this isolate at most, all users together (anonymous sign-ins make
   * users cheap on a hosted project) */
  maxTotal?: number;
  now?: () => number;
}

interface Parked<S> {
  userId: string;
  options?: ParkOptions<S>;
  resolve?: (state: S | null) => void;
  timers: ReturnType<typeof setTimeout>[];
  onAbort?: () => void;
  /** the notification count when it was reserved */
  seenNotifies: number;
  released: boolean;
}

export function createReadWaiter<S>(options: ReadWaiterOptions<S>): ReadWaiter<S> {
  const now = options.now ?? (() => Date.now());
  const perUser = new Map<string, number>();
  const parked = new Set<Parked<S>>();
  let reserved = 0;
  let stopped = false;
  let reads = 0;
  let notifies = 0;
  let listening = false;

  function answer(p: Parked<S>, state: S | null): void {
    const resolve = p.resolve;
    if (!resolve) return;
    p.resolve = undefined;
    parked.delete(p);
    for (const t of p.timers) clearTimeout(t);
    p.timers = [];
    if (p.onAbort) p.options?.signal?.removeEventListener("abort", p.onAbort);
    resolve(state);
    if (parked.size === 0) stopPoll();
  }

  // ---- batched re-reads ---------------------------------------------------------------
  const checks = createCheckQueue({ read: flush, stopped: () => stopped });
  const readSoon = checks.soon;

  async function flush(batch: CheckBatch): Promise<void> {
    // Only the requests parked before the read began may take its answer: one parked
    // during it read its own first state later, and an older one must not answer it.
    const waiting: Parked<S>[] = [];
    const keys = new Set<string>();
    for (const p of parked) {
      const key = p.options!.key;
      if (batch.all || batch.ids.has(key)) {
        keys.add(key);
        waiting.push(p);
      }
    }
    if (keys.size === 0) return;
    reads++;
    let states: Map<string, S>;
    try {
      states = await options.read([...keys]);
    } catch (error) {
      // The database is away: the parked stay parked; the next poll reads again.
      options.log.warn("mobile long-poll re-read failed", {
        error: String(error),
        keys: keys.size,
      });
      return;
    }
    for (const p of waiting) {
      if (!p.resolve) continue; // answered meanwhile (timeout, abort)
      const state = states.get(p.options!.key);
      if (state !== undefined && p.options!.done(state)) answer(p, state);
    }
  }

  // ---- the batched poll -----------------------------------------------------------------
  // Requests whose changes NOTIFY announces are re-read by it; the poll reads them every
  // interval only while LISTEN is down, else every SAFETY_POLL_EVERY intervals (what no
  // NOTIFY says: an unpairing, a lost notification). The others, every interval.
  let pollTimer: ReturnType<typeof setInterval> | undefined;
  let ticks = 0;
  function poll(): void {
    ticks++;
    if (!listening || ticks % SAFETY_POLL_EVERY === 0) return readSoon();
    for (const p of parked) if (!p.options!.notified) readSoon(p.options!.key);
  }
  function startPoll(): void {
    if (pollTimer === undefined && !stopped) pollTimer = setInterval(poll, options.pollMs);
  }
  function stopPoll(): void {
    if (pollTimer !== undefined) clearInterval(pollTimer);
    pollTimer = undefined;
  }

  // ---- LISTEN approvals_changed on the shared connection ---------------------------------
  // A pairing adds a workspace to its user's inbox: which user is not in the payload, so
  // every notified request reads again (pairings are rare).
  options.listener.subscribe(WORKSPACE_PAIRED_CHANNEL, {
    up() {},
    down() {},
    notify() {
      notifies++;
      for (const p of parked) if (p.options!.notified) readSoon(p.options!.key);
    },
  });
  const listen = options.listener.subscribe(APPROVALS_CHANGED_CHANNEL, {
    up() {
      listening = true;
      // What changed while nobody listened: the parked read again now, and a request
      // reserved but not parked yet reads again when it parks.
      notifies++;
      if (parked.size > 0 && !stopped) readSoon();
    },
    down() {
      listening = false;
    },
    notify(payload) {
      const workspaceId = payload.toLowerCase();
      if (!UUID_RE.test(workspaceId)) return;
      notifies++;
      for (const p of parked) {
        if (p.options!.topics.includes(workspaceId)) readSoon(p.options!.key);
      }
    },
  });

  function reserve(userId: string): ReadSlot<S> {
    const held = perUser.get(userId) ?? 0;
    if (reserved >= (options.maxTotal ?? Infinity)) {
      throw new HttpError(
        "rate_limited",
        `Rate limited: ${reserved} long-polls are waiting on this server; ask again shortly`,
        { headers: { "retry-after": String(CAP_RETRY_AFTER_SECONDS) } },
      );
    }
    if (held >= options.maxPerUser) {
      throw new HttpError(
        "rate_limited",
        `Rate limited: this user already has ${options.maxPerUser} long-polls waiting`,
        { headers: { "retry-after": String(CAP_RETRY_AFTER_SECONDS) } },
      );
    }
    perUser.set(userId, held + 1);
    reserved++;
    if (!stopped) listen.busy();
    const p: Parked<S> = { userId, timers: [], seenNotifies: notifies, released: false };
    return { wait: (o) => wait(p, o), release: () => release(p) };
  }

  function wait(p: Parked<S>, o: ParkOptions<S>): Promise<S | null> {
    if (stopped || p.released || o.timeoutMs <= 0 || o.signal?.aborted) {
      return Promise.resolve(null);
    }
    return new Promise((resolve) => {
      p.options = o;
      p.resolve = resolve;
      parked.add(p);
      p.timers.push(setTimeout(() => answer(p, null), o.timeoutMs));
      if (o.recheckAt !== undefined && o.recheckAt - now() < o.timeoutMs) {
        // a moment past it, so that the re-read's now() is past it too
        const delay = Math.max(0, o.recheckAt - now()) + 50;
        p.timers.push(setTimeout(() => readSoon(o.key), delay));
      }
      if (o.signal) {
        p.onAbort = () => answer(p, null);
        o.signal.addEventListener("abort", p.onAbort, { once: true });
      }
      startPoll();
      // Something changed between the reservation and now (the first read may have
      // missed it): read again at once.
      if (notifies !== p.seenNotifies) readSoon(o.key);
    });
  }

  function release(p: Parked<S>): void {
    if (p.released) return;
    p.released = true;
    answer(p, null);
    const held = (perUser.get(p.userId) ?? 1) - 1;
    if (held > 0) perUser.set(p.userId, held);
    else perUser.delete(p.userId);
    reserved--;
    if (reserved === 0) listen.idle();
  }

  const waiter: ReadWaiter<S> = {
    reserve,
    stats: () => ({ parked: parked.size, reserved, reads, listening }),
    shutdown() {
      stopped = true;
      for (const p of [...parked]) answer(p, null);
      stopPoll();
    },
    async close() {
      waiter.shutdown();
      await checks.running;
      listen.idle();
      listening = false;
    },
  };
  return waiter;
}
