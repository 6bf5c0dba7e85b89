// What a handler needs, built once per isolate: config, database, logger, clock, the
// mobile-token verifier, the approval waiter and the push dispatcher. Tests build their
// own with a real database and, where they need it, a fixed clock.
import { type Config, loadConfig } from "./config.ts";
import { createSql, guardConnectionRejections, type Sql } from "./db.ts";
import { createLogger, type Logger } from "./logger.ts";
import { createMobileVerifier, type MobileVerifier } from "./mobile_auth.ts";
import type { PushDispatcher } from "./push_dispatcher.ts";
import type { ReadState } from "./mobile_reads.ts";
import type { ApprovalWaiter } from "./approval_waiter.ts";
import type { PairingWaiter } from "./pairing_waiter.ts";
import type { Listener } from "./listener.ts";
import type { ReadWaiter } from "./read_waiter.ts";

export interface Deps {
  config: Config;
  sql: Sql;
  log: Logger;
  now: () => number;
  verifyMobile: MobileVerifier;
  waiter: ApprovalWaiter;
  push: PushDispatcher;
  /** wakes pair-status long-polls when a device pairs */
  pairing: PairingWaiter;
  /** wakes the web app's long-polls (mobile-inbox, mobile-run-events) */
  reads: ReadWaiter<ReadState>;
  /** the isolate's one LISTEN connection, shared by both waiters; open only while
   * something is parked (plus LISTEN_IDLE_CLOSE_SECONDS) */
  listener: Listener;
  /** keeps work alive after the response (EdgeRuntime.waitUntil on Supabase) */
  background: (task: Promise<unknown>) => void;
  /** answers the parked approval and read long-polls now (the runtime's beforeunload);
   * builds nothing that is not built yet */
  shutdown(): void;
  close(): Promise<void>;
}

/** The long-poll waiters and their LISTEN connection: built together on first use by the
 * builder waiters.ts registers (bridge-approval-wait imports it; the other functions that park
 * requests import it before their first park: load_waiters.ts). */
export type Waiters = Pick<Deps, "listener" | "waiter" | "pairing" | "reads">;
/** What the waiters are built from. */
type WaiterInputs = Pick<Deps, "config" | "sql" | "log" | "now" | "push">;
let buildWaiters: ((inputs: WaiterInputs) => Waiters) | undefined;

/** Called once by waiters.ts when it is imported. */
export function registerWaiters(build: (inputs: WaiterInputs) => Waiters): void {
  buildWaiters = build;
}

declare const EdgeRuntime: { waitUntil(p: Promise<unknown>): void } | undefined;

export interface DepsOverrides {
  log?: Logger;
  now?: () => number;
  fetch?: typeof fetch;
  /** the query pool (tests: one that counts what is sent) */
  sql?: Sql;
}

export function createDeps(config: Config, overrides: DepsOverrides = {}): Deps {
  const log = overrides.log ?? createLogger(config.LOG_LEVEL);
  guardConnectionRejections((error) =>
    log.warn("a database connection was reset", { error: String(error) })
  );
  const sql = overrides.sql ?? createSql(config.DATABASE_URL, { max: config.DB_POOL_MAX });
  const now = overrides.now ?? (() => Date.now());
  const background = (task: Promise<unknown>) => {
    const guarded = task.catch((error) =>
      log.error("background task failed", { error: String(error) })
    );
    if (typeof EdgeRuntime !== "undefined" && EdgeRuntime?.waitUntil) {
      EdgeRuntime.waitUntil(guarded);
    }
  };
  const push = lazyPushDispatcher(
    () =>
      import("./push_dispatcher.ts").then(({ createPushDispatcher }) =>
        createPushDispatcher({ config, sql, log, now, background }, { fetch: overrides.fetch })
      ),
    background,
  );
  let waiters: Waiters | undefined;
  const built = (): Waiters => {
    if (!waiters) {
      if (!buildWaiters) {
        throw new Error(
          "the waiters are not loaded: import _shared/waiters.ts, or await loadWaiters(deps)",
        );
      }
      waiters = buildWaiters({ config, sql, log, now, push });
    }
    return waiters;
  };
  const verifyMobile = createMobileVerifier({
    supabaseUrl: config.SUPABASE_URL,
    jwtSecret: config.SUPABASE_JWT_SECRET,
    jwks: config.SUPABASE_JWKS,
    log,
  });
  return {
    config,
    sql,
    log,
    now,
    verifyMobile,
    background,
    push,
    get listener() {
      return built().listener;
    },
    get waiter() {
      return built().waiter;
    },
    get pairing() {
      return built().pairing;
    },
    get reads() {
      return built().reads;
    },
    shutdown() {
      waiters?.waiter.shutdown();
      waiters?.reads.shutdown();
    },
    async close() {
      if (waiters) {
        const { waiter, pairing, reads, listener } = waiters;
        waiter.shutdown();
        await pairing.close();
        await reads.close();
        await waiter.close();
        await listener.close();
      }
      await push.close();
      await sql.end({ timeout: 1 });
    },
  };
}

// Imported on first use, not at start (issue 21: every module a function loads is paid on
// its cold start). The push dispatcher brings the four providers' senders (~50 KB of
// modules, ~3 ms of CPU) and only the functions that send use it.

/** A PushDispatcher that imports and builds the real one on its first use. */
function lazyPushDispatcher(
  load: () => Promise<PushDispatcher>,
  background: (task: Promise<unknown>) => void,
): PushDispatcher {
  let loading: Promise<PushDispatcher> | undefined;
  let loaded: PushDispatcher | undefined;
  let closed = false;
  const get = () => loading ??= load().then((d) => loaded = d);
  return {
    deliverSoon() {
      if (loaded) loaded.deliverSoon();
      else if (!closed) background(get().then((d) => d.deliverSoon()));
    },
    sweep: () => loaded?.sweep() ?? (closed ? Promise.resolve(0) : get().then((d) => d.sweep())),
    async close() {
      closed = true;
      if (loading) await (await loading).close();
    },
  };
}

let isolateDeps: Deps | undefined;

/** The isolate's deps, from the environment, built on first use. */
export function depsFromEnv(): Deps {
  if (!isolateDeps) isolateDeps = createDeps(loadConfig());
  return isolateDeps;
}
