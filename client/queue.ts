// Run events queued on disk (.agentops/queue/) while the backend is unreachable, delivered
// later in order, at least once, each with its own event_id (the server stores a retried
// event once). A file is removed only after the backend accepted or finally refused it.
// Every event is written here before it is sent. The file work is synchronous on purpose:
// a hook process does a handful of small operations, and each async one is a hop to
// Deno's blocking thread pool and back, which a loaded machine makes the slowest part of
// a hook (bench/hook_latency.ts).
import { ApiError, type BridgeEvent, UnreachableError } from "./sdk.ts";
import type { AgentOpsClient, RetryOptions } from "./sdk.ts";

interface FlushResult {
  delivered: number;
  /** refused by the backend with a 4xx: kept aside in queue/rejected/ for inspection */
  rejected: number;
  remaining: number;
}

/** Events this process queued, for the file names' order within a millisecond. */
let queued = 0;

export class EventQueue {
  /** What this process queued, by file: flush() sends it without reading it back. */
  #written = new Map<string, BridgeEvent>();

  constructor(readonly dir: string) {}

  /** Writes the event to disk (atomically: temp file + rename). */
  enqueue(event: BridgeEvent): string {
    // Sortable names keep delivery in the order the hooks fired: the time, then this
    // process's count (performance.now() here cost the Node build its perf_hooks, ~2 ms).
    const name = `${Date.now().toString().padStart(15, "0")}-${
      String(++queued).padStart(14, "0")
    }-${event.event_id}.json`;
    const path = `${this.dir}/${name}`;
    const tmp = `${this.dir}/.${name}.tmp`;
    const text = JSON.stringify(event);
    try {
      Deno.writeTextFileSync(tmp, text, { mode: 0o600 });
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      // The first event of this project: the folder comes with it.
      Deno.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      Deno.writeTextFileSync(tmp, text, { mode: 0o600 });
    }
    Deno.renameSync(tmp, path);
    this.#written.set(path, event);
    return path;
  }

  /** Queued files, oldest first. */
  list(): string[] {
    const names: string[] = [];
    try {
      for (const entry of Deno.readDirSync(this.dir)) {
        if (entry.isFile && entry.name.endsWith(".json") && !entry.name.startsWith(".")) {
          names.push(entry.name);
        }
      }
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return [];
      throw error;
    }
    return names.sort().map((n) => `${this.dir}/${n}`);
  }

  /** Delivers queued events in order; stops at the first one the backend cannot take now
   * (unreachable, rate-limited), leaving it and the rest for the next flush. */
  async flush(client: AgentOpsClient, retry?: Partial<RetryOptions>): Promise<FlushResult> {
    const files = this.list();
    let delivered = 0;
    let rejected = 0;
    for (const [i, file] of files.entries()) {
      let event: BridgeEvent;
      try {
        event = this.#written.get(file) ?? JSON.parse(Deno.readTextFileSync(file));
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) continue; // another hook delivered it
        this.#reject(file);
        rejected++;
        continue;
      }
      try {
        await client.sendEvent(event, retry);
        delivered++;
        this.#written.delete(file);
        try {
          Deno.removeSync(file);
        } catch { /* another hook delivered it too */ }
      } catch (error) {
        if (error instanceof UnreachableError) {
          return { delivered, rejected, remaining: files.length - i };
        }
        if (error instanceof ApiError && error.status >= 400 && error.status < 500) {
          this.#reject(file);
          rejected++;
          continue;
        }
        throw error;
      }
    }
    return { delivered, rejected, remaining: 0 };
  }

  #reject(file: string): void {
    const dir = `${this.dir}/rejected`;
    this.#written.delete(file);
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    try {
      Deno.renameSync(file, `${dir}/${file.split("/").pop()}`);
    } catch { /* gone meanwhile */ }
  }
}
