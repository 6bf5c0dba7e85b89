// The approval waiter's parked requests by approval id, and the ids of recent NOTIFYs.

/** One parked long-poll. A class so 10,000 of them share one hidden class. */
export class Parked<State> {
  done = false;
  due: number;
  onAbort?: () => void;
  constructor(
    readonly approvalId: string,
    readonly resolve: (state: State | null) => void,
    readonly timeoutAt: number,
    public expiresAt: number,
    readonly signal: AbortSignal | undefined,
  ) {
    this.due = Math.min(timeoutAt, expiresAt);
  }
}

/** The parked requests by approval id: one entry, or an array when several clients wait on
 * the same approval (rare), so the common case costs no array. */
export class ParkedIndex<P extends { approvalId: string }> {
  #byId = new Map<string, P | P[]>();
  add(p: P): void {
    const existing = this.#byId.get(p.approvalId);
    if (existing === undefined) this.#byId.set(p.approvalId, p);
    else if (Array.isArray(existing)) existing.push(p);
    else this.#byId.set(p.approvalId, [existing, p]);
  }
  remove(p: P): void {
    const existing = this.#byId.get(p.approvalId);
    if (existing === p) this.#byId.delete(p.approvalId);
    else if (Array.isArray(existing)) {
      const rest = existing.filter((x) => x !== p);
      if (rest.length === 0) this.#byId.delete(p.approvalId);
      else this.#byId.set(p.approvalId, rest.length === 1 ? rest[0] : rest);
    }
  }
  /** a copy: finishing an entry changes the index */
  entries(approvalId: string): P[] {
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

/** how long a NOTIFY is remembered, for a request parked just after it arrived */
const RECENT_NOTIFY_MS = 30_000;
const RECENT_NOTIFY_MAX = 4096;

/** The ids of recent NOTIFYs (RECENT_NOTIFY_MS, RECENT_NOTIFY_MAX at most), for a request
 * parked just after its notification arrived. */
export class RecentIds {
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
