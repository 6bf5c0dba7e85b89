// One database read for every parked id that needs one (the approval and pairing waiters):
// ids asked for in the same turn of the event loop, or while a read is in flight, go into
// the next read together, so a burst of notifications costs one query, not one each.

export interface BatchedCheckOptions {
  /** every id parked now (a check of all reads these) */
  parked(): Iterable<string>;
  isParked(id: string): boolean;
  /** one query for these ids, answering whom it settles; it handles its own errors */
  read(ids: string[]): Promise<void>;
}

export interface BatchedCheck {
  /** reads this id (or, without one, every parked id) in the next batch */
  soon(id?: string): void;
  /** the read in flight, if any (close() awaits it) */
  readonly inFlight: Promise<void> | undefined;
  /** reads sent so far */
  readonly reads: number;
  /** no read starts after this */
  stop(): void;
}

export function createBatchedCheck(options: BatchedCheckOptions): BatchedCheck {
  const pending = new Set<string>();
  let all = false;
  let inFlight: Promise<void> | undefined;
  let queued = false;
  let stopped = false;
  let reads = 0;

  function soon(id?: string): void {
    if (id === undefined) all = true;
    else pending.add(id);
    if (inFlight || queued) return;
    queued = true;
    queueMicrotask(start);
  }

  function start(): void {
    queued = false;
    if (stopped) return;
    inFlight = run().finally(() => {
      inFlight = undefined;
      if (!stopped && (all || pending.size > 0)) soon();
    });
  }

  async function run(): Promise<void> {
    const ids = all ? [...options.parked()] : [...pending].filter(options.isParked);
    all = false;
    pending.clear();
    if (ids.length === 0) return;
    reads++;
    await options.read(ids);
  }

  return {
    soon,
    get inFlight() {
      return inFlight;
    },
    get reads() {
      return reads;
    },
    stop() {
      stopped = true;
    },
  };
}
