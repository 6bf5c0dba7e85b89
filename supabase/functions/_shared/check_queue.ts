// Coalesces "read these again" into one batched read at a time, for the waiters that park
// long-polls (approval_waiter.ts, pairing_waiter.ts, read_waiter.ts): ids asked for while
// nothing runs are read together on the next microtask; ids asked for during a read are
// read together right after it. Never two reads at once, never a read per request. (The
// approval waiter's delivery receipts are batched the same way.)
export interface CheckBatch {
  /** everything parked must be read (a poll, a LISTEN (re)connect) */
  all: boolean;
  /** the ids asked for (when not `all`) */
  ids: Set<string>;
}

interface CheckQueue {
  /** reads this id, or without one everything parked, in the next batch */
  soon(id?: string): void;
  /** the read under way, if any (a waiter's close() awaits it) */
  readonly running: Promise<void> | undefined;
  /** resolves once nothing is being read and nothing waits to be */
  drained(): Promise<void>;
}

export function createCheckQueue(options: {
  read(batch: CheckBatch): Promise<void>;
  /** true once the waiter has shut down: nothing more is read */
  stopped(): boolean;
  /** when a batch starts (default: the next microtask; a write that must not delay the
   * answers just handed out passes a zero timer, so the responses go first) */
  defer?: (start: () => void) => void;
}): CheckQueue {
  const defer = options.defer ?? queueMicrotask;
  let ids = new Set<string>();
  let all = false;
  let running: Promise<void> | undefined;
  let queued = false;

  function schedule(): void {
    if (running || queued) return;
    queued = true;
    defer(start);
  }

  function start(): void {
    queued = false;
    if (options.stopped()) return;
    const batch = { all, ids };
    all = false;
    ids = new Set();
    running = options.read(batch).finally(() => {
      running = undefined;
      if (!options.stopped() && (all || ids.size > 0)) schedule();
    });
  }

  return {
    soon(id) {
      if (id === undefined) all = true;
      else ids.add(id);
      schedule();
    },
    get running() {
      return running;
    },
    async drained() {
      while (running || queued) {
        await (running ?? new Promise((resolve) => setTimeout(resolve, 0)));
      }
    },
  };
}
