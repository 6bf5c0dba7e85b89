// Wakes pair-status long-polls when a device pairs. pair-complete's transaction sends
// NOTIFY workspace_paired '<workspace id>'; one LISTEN connection per isolate (opened on the
// first wait, on SUPABASE_DB_URL) wakes the watchers of that workspace. The caller re-reads
// on every wake and at least every recheckMs, so a lost notification (a reconnect, a
// pooler that does not allow LISTEN) costs at most that long.
import { createSql, type Sql } from "./db.ts";
import type { Logger } from "./logger.ts";

export const WORKSPACE_PAIRED_CHANNEL = "workspace_paired";

/** Why a watch woke: a notification (or a LISTEN reconnect), shutdown, the caller's
 * abort, or the time (the re-check interval or the caller's ms, whichever is shorter). */
export type WakeReason = "notified" | "stopped" | "aborted" | "timeout";

export interface PairingWatch {
  /** Resolves on a notification for the workspace (also one sent since the last call), on
   * a LISTEN reconnect, on shutdown, when signal aborts, or after ms. */
  next(ms: number, signal?: AbortSignal): Promise<WakeReason>;
  /** true once the waiter shut down: answer now. */
  readonly stopped: boolean;
  close(): void;
}

export interface PairingWaiter {
  /** Registers interest in a workspace; call before the first read so nothing is missed. */
  watch(workspaceId: string): Promise<PairingWatch>;
  /** how often a parked request re-reads without a notification */
  readonly recheckMs: number;
  /** whether the LISTEN connection is up */
  readonly listening: boolean;
  /** how many requests are watching (parked or about to be) */
  parked(): number;
  /** wakes every watcher for good (runtime shutdown) */
  shutdown(): void;
  close(): Promise<void>;
}

export interface PairingWaiterOptions {
  /** the direct database connection (LISTEN does not work through a transaction pooler) */
  listenUrl: string;
  log: Logger;
  recheckMs?: number;
  /** how long a request waits for the LISTEN connection before relying on re-checks */
  listenTimeoutMs?: number;
}

interface Watcher {
  notified: boolean;
  wake?: (reason: WakeReason) => void;
}

export function createPairingWaiter(options: PairingWaiterOptions): PairingWaiter {
  const recheckMs = options.recheckMs ?? 2000;
  const watchers = new Map<string, Set<Watcher>>();
  let listenSql: Sql | undefined;
  let ready: Promise<boolean> | undefined;
  let listening = false;
  let stopped = false;

  function wake(watcher: Watcher) {
    watcher.notified = true;
    watcher.wake?.(stopped ? "stopped" : "notified");
  }

  function wakeWorkspace(workspaceId: string) {
    for (const w of watchers.get(workspaceId.toLowerCase()) ?? []) wake(w);
  }

  function wakeAll() {
    for (const set of watchers.values()) for (const w of set) wake(w);
  }

  function startListening(): Promise<boolean> {
    if (ready) return ready;
    const sql = listenSql = createSql(options.listenUrl, { max: 1 });
    let reconnect = false;
    ready = sql.listen(WORKSPACE_PAIRED_CHANNEL, (payload) => wakeWorkspace(payload), () => {
      listening = true;
      // after a reconnect, notifications may have been missed: everyone re-reads
      if (reconnect) wakeAll();
      reconnect = true;
    }).then(() => true, (error) => {
      options.log.warn("pairing waiter cannot LISTEN; relying on re-checks", {
        error: error instanceof Error ? error.message : String(error),
      });
      listening = false;
      if (listenSql === sql) {
        listenSql = undefined;
        ready = undefined; // the next wait tries again
      }
      sql.end({ timeout: 0 }).catch(() => {});
      return false;
    });
    return ready;
  }

  async function waitListening(): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), options.listenTimeoutMs ?? 2000);
    });
    try {
      await Promise.race([startListening(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  const onUnload = () => waiter.shutdown();
  const edge = typeof (globalThis as { EdgeRuntime?: unknown }).EdgeRuntime !== "undefined";
  if (edge) globalThis.addEventListener("beforeunload", onUnload);

  const waiter: PairingWaiter = {
    recheckMs,
    get listening() {
      return listening;
    },
    parked() {
      let n = 0;
      for (const set of watchers.values()) n += set.size;
      return n;
    },
    async watch(workspaceId) {
      const key = workspaceId.toLowerCase();
      const watcher: Watcher = { notified: false };
      let set = watchers.get(key);
      if (!set) watchers.set(key, set = new Set());
      set.add(watcher);
      if (!stopped) await waitListening();
      return {
        get stopped() {
          return stopped;
        },
        next(ms, signal) {
          if (stopped) return Promise.resolve("stopped");
          if (signal?.aborted) return Promise.resolve("aborted");
          if (watcher.notified) {
            watcher.notified = false;
            return Promise.resolve("notified");
          }
          return new Promise<WakeReason>((resolve) => {
            const done = (reason: WakeReason) => {
              clearTimeout(timer);
              signal?.removeEventListener("abort", onAbort);
              watcher.wake = undefined;
              watcher.notified = false;
              resolve(reason);
            };
            const onAbort = () => done("aborted");
            const timer = setTimeout(() => done("timeout"), Math.max(0, Math.min(ms, recheckMs)));
            signal?.addEventListener("abort", onAbort);
            watcher.wake = done;
          });
        },
        close() {
          const current = watchers.get(key);
          current?.delete(watcher);
          if (current?.size === 0) watchers.delete(key);
        },
      };
    },
    shutdown() {
      stopped = true;
      wakeAll();
    },
    async close() {
      waiter.shutdown();
      if (edge) globalThis.removeEventListener("beforeunload", onUnload);
      const sql = listenSql;
      listenSql = undefined;
      listening = false;
      if (ready) await ready;
      if (sql) await sql.end({ timeout: 1 });
    },
  };
  return waiter;
}
