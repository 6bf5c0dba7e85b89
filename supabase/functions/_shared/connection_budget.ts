// The database connection budget of one isolate (docs/deploy.md has the arithmetic): a
// hosted project runs many isolates at once, and every connection each one holds counts
// against the Supavisor pooler's client limit or, worse, the ~60 direct connections of a
// small plan. A configuration that would spend that budget fails at startup.

/** Connections per isolate to DATABASE_URL on a hosted project. postgres.js pipelines
 * queries on a connection (up to 100 in flight), and every request here is one SQL function
 * call, so one connection carries an isolate's concurrent requests, and the 200 pooler
 * clients of the smallest plans serve as many isolates (docs/deploy.md). */
export const DEFAULT_POOL_MAX = 1;

/** Connections of the one local process that serves every function (`npm run dev`, tests,
 * benchmarks): its SQL calls would otherwise queue behind each other on one connection. */
export const LOCAL_POOL_MAX = 10;

/** DB_POOL_MAX when unset: the hosted budget on a hosted project, else the local one. */
export function defaultPoolMax(input: Pick<BudgetInput, "SUPABASE_URL" | "SUPABASE_DB_URL">) {
  return isHostedProject(input) ? DEFAULT_POOL_MAX : LOCAL_POOL_MAX;
}

/** The most connections per isolate a hosted project may configure (DB_POOL_MAX). */
const HOSTED_POOL_MAX_LIMIT = 5;

/** Supavisor's transaction-mode port; 5432 is the direct or the session-mode connection. */
const TRANSACTION_POOLER_PORT = 6543;

/** How long the LISTEN connection stays open with nothing parked (LISTEN_IDLE_CLOSE_SECONDS):
 * an isolate that nothing waits on then holds no direct connection at all. */
export const DEFAULT_LISTEN_IDLE_CLOSE_SECONDS = 30;

interface BudgetInput {
  SUPABASE_URL: string;
  /** as set, before the local fallback to SUPABASE_DB_URL */
  DATABASE_URL?: string;
  SUPABASE_DB_URL?: string;
  DB_POOL_MAX: number;
}

interface BudgetIssue {
  path: string;
  message: string;
}

function hostOf(url: string | undefined): { host: string; port: number } | undefined {
  if (!url) return undefined;
  // Passwords may hold characters URL() refuses: read host and port after the last "@".
  const match = /^[a-z][a-z0-9+.-]*:\/\/(?:.*@)?(\[[^\]]+\]|[^/:?#]+)(?::(\d+))?/i.exec(url);
  if (!match) return undefined;
  return { host: match[1].toLowerCase(), port: match[2] ? Number(match[2]) : 5432 };
}

/** Whether the functions run on a hosted Supabase project (not `supabase start`, whose
 * SUPABASE_URL is http://kong:8000 inside the runtime, nor the local stack). */
export function isHostedProject(input: Pick<BudgetInput, "SUPABASE_URL" | "SUPABASE_DB_URL">) {
  const api = hostOf(input.SUPABASE_URL)?.host ?? "";
  const db = hostOf(input.SUPABASE_DB_URL)?.host ?? "";
  return api.endsWith(".supabase.co") || db.endsWith(".supabase.co") ||
    db.endsWith(".supabase.com");
}

/** What in the configuration would exhaust a small plan's connections; empty when sound. */
export function connectionBudgetIssues(input: BudgetInput): BudgetIssue[] {
  if (!isHostedProject(input)) return [];
  const issues: BudgetIssue[] = [];
  const pool = input.DB_POOL_MAX;
  const target = hostOf(input.DATABASE_URL);
  if (!input.DATABASE_URL) {
    issues.push({
      path: "DATABASE_URL",
      message: "must be set on a hosted Supabase project, to the Supavisor transaction pooler " +
        `(port ${TRANSACTION_POOLER_PORT}); without it queries would fall back to ` +
        `SUPABASE_DB_URL, the direct connection, and every isolate would hold DB_POOL_MAX ` +
        `(${pool}) of the ~60 direct connections a small plan has (docs/deploy.md)`,
    });
  } else if (target && target.port !== TRANSACTION_POOLER_PORT && pool > 1) {
    issues.push({
      path: "DATABASE_URL",
      message: `points at port ${target.port} of ${target.host} (a direct or session-mode ` +
        `connection) with DB_POOL_MAX=${pool}: every isolate would hold up to ${pool} of the ` +
        `~60 connections a small plan has; use the transaction pooler (port ` +
        `${TRANSACTION_POOLER_PORT}) or DB_POOL_MAX=1 (docs/deploy.md)`,
    });
  }
  if (pool > HOSTED_POOL_MAX_LIMIT) {
    issues.push({
      path: "DB_POOL_MAX",
      message: `is ${pool}, above ${HOSTED_POOL_MAX_LIMIT} connections per isolate on a hosted ` +
        `project: a few dozen isolates would exhaust a small plan's pooler clients; leave it ` +
        `unset (${DEFAULT_POOL_MAX}) or lower it (docs/deploy.md)`,
    });
  }
  return issues;
}

/** Closes a connection after it has had nothing to do for `idleMs`; for the waiters' LISTEN
 * connection: call busy() when a request parks, idle() when the last one leaves. */
interface IdleCloser {
  busy(): void;
  idle(): void;
  /** whether a close is scheduled */
  readonly pending: boolean;
  /** drops a scheduled close (call it when the owner closes) */
  cancel(): void;
}

export function createIdleCloser(
  options: { idleMs: number; close: () => void | Promise<void> },
): IdleCloser {
  let timer: ReturnType<typeof setTimeout> | undefined;
  function cancel() {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
  }
  return {
    busy: cancel,
    idle() {
      cancel();
      if (options.idleMs <= 0) return; // 0: keep the connection open
      timer = setTimeout(() => {
        timer = undefined;
        void Promise.resolve(options.close()).catch(() => {});
      }, options.idleMs);
    },
    get pending() {
      return timer !== undefined;
    },
    cancel,
  };
}
