// A binary min-heap of deadlines (the approval waiter's one timer for every timeout and
// expiry). Entries are resolved in place (`done`); resolved ones are skipped when they
// reach the top and swept out by compact() when they outnumber the live ones.

interface Deadline {
  /** when it is due (ms since the epoch) */
  due: number;
  /** resolved: skipped, never fired */
  done: boolean;
}

export class DeadlineHeap<T extends Deadline> {
  items: T[] = [];

  get size(): number {
    return this.items.length;
  }

  push(entry: T): void {
    const a = this.items;
    a.push(entry);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (a[parent].due <= a[i].due) break;
      [a[parent], a[i]] = [a[i], a[parent]];
      i = parent;
    }
  }

  peek(): T | undefined {
    return this.items[0];
  }

  /** the earliest entry not yet resolved (resolved ones on top are dropped) */
  peekLive(): T | undefined {
    let top = this.peek();
    while (top && top.done) {
      this.pop();
      top = this.peek();
    }
    return top;
  }

  pop(): T | undefined {
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

  /** drops the resolved entries */
  compact(): void {
    const live = this.items.filter((p) => !p.done);
    this.items = [];
    for (const p of live) this.push(p);
  }

  clear(): void {
    this.items = [];
  }
}

/** One timer for every deadline in a heap: calls onDue for each entry whose time has come
 * (resolved entries are skipped), then waits for the next. onDue may requeue() its entry
 * with a later due. */
export class DeadlineTimer<T extends Deadline> {
  readonly heap = new DeadlineHeap<T>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #at = Infinity;
  constructor(private readonly onDue: (entry: T, now: number) => void) {}

  add(entry: T): void {
    this.heap.push(entry);
    this.arm();
  }

  /** puts an entry back (from onDue) with its new due */
  requeue(entry: T): void {
    this.heap.push(entry);
  }

  /** sets the timer for the earliest live entry (none left: no timer) */
  arm(): void {
    const top = this.heap.peekLive();
    if (!top) {
      this.#cancel();
      return;
    }
    if (this.#timer !== undefined && this.#at <= top.due) return;
    this.#cancel();
    this.#at = top.due;
    this.#timer = setTimeout(() => this.#fire(), Math.max(0, top.due - Date.now()));
  }

  /** drops every entry and the timer */
  clear(): void {
    this.heap.clear();
    this.#cancel();
  }

  #cancel(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#at = Infinity;
  }

  #fire(): void {
    this.#timer = undefined;
    this.#at = Infinity;
    const now = Date.now();
    const heap = this.heap;
    for (let top = heap.peek(); top && (top.done || top.due <= now); top = heap.peek()) {
      heap.pop();
      if (!top.done) this.onDue(top, now);
    }
    this.arm();
  }
}
