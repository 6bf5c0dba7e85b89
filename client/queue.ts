// Run events queued on disk (.agentops/queue/) while the backend is unreachable, delivered
// later in order, at least once, each with its own event_id (the server stores a retried
// event once). A file is removed only after the backend accepted or finally refused it.
import { ApiError, type BridgeEvent, UnreachableError } from "./sdk.ts";
import type { AgentOpsClient, RetryOptions } from "./sdk.ts";

interface FlushResult {
  delivered: number;
  /** refused by the backend with a 4xx: kept aside in queue/rejected/ for inspection */
  rejected: number;
  remaining: number;
}

export class EventQueue {
  constructor(readonly dir: string) {}

  /** Writes the event to disk (atomically: temp file + rename). */
  async enqueue(event: BridgeEvent): Promise<string> {
    await Deno.mkdir(this.dir, { recursive: true, mode: 0o700 });
    // Sortable names keep delivery in the order the hooks fired.
    const name = `${Date.now().toString().padStart(15, "0")}-${
      performance.now().toFixed(3).padStart(14, "0")
    }-${event.event_id}.json`;
    const path = `${this.dir}/${name}`;
    const tmp = `${this.dir}/.${name}.tmp`;
    await Deno.writeTextFile(tmp, JSON.stringify(event), { mode: 0o600 });
    await Deno.rename(tmp, path);
    return path;
  }

  /** Queued files, oldest first. */
  async list(): Promise<string[]> {
    const names: string[] = [];
    try {
      for await (const entry of Deno.readDir(this.dir)) {
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
    const files = await this.list();
    let delivered = 0;
    let rejected = 0;
    for (const [i, file] of files.entries()) {
      let event: BridgeEvent;
      try {
        event = JSON.parse(await Deno.readTextFile(file));
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) continue; // another hook delivered it
        await this.#reject(file);
        rejected++;
        continue;
      }
      try {
        await client.sendEvent(event, retry);
        delivered++;
        await Deno.remove(file).catch(() => {});
      } catch (error) {
        if (error instanceof UnreachableError) {
          return { delivered, rejected, remaining: files.length - i };
        }
        if (error instanceof ApiError && error.status >= 400 && error.status < 500) {
          await this.#reject(file);
          rejected++;
          continue;
        }
        throw error;
      }
    }
    return { delivered, rejected, remaining: 0 };
  }

  async #reject(file: string): Promise<void> {
    const dir = `${this.dir}/rejected`;
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    await Deno.rename(file, `${dir}/${file.split("/").pop()}`).catch(() => {});
  }
}
