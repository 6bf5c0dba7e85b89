// bench/approval: the approval waiter against per-request 1 s polling
// (docs/contract/targets.md#benchmarks): decision request sent → waiting hook runner answered with
// 1,000 parked long-polls (p50/p99; the clients in a Worker, off the server's thread), database
// queries per second while they wait (pg_stat_database), and the process RSS of
// bridge-approval-wait holding RSS_WAITERS long-polls against a bare Deno.serve holding as many
// (bench/lib/hold_server.ts).
//   node scripts/with_test_db.mjs deno run -A bench/approval.ts
import postgres from "postgres";
import {
  dropDatabase,
  freshDatabase,
  type Stack,
  startStack,
  TEST_HMAC_SECRET,
  TEST_JWT_SECRET,
} from "../tests/_helpers/stack.ts";
import type { ClientsRequest, ClientsResult } from "./approval_clients.ts";
import type { DeciderRequest, DeciderResult } from "./approval_decider.ts";
import { freePort } from "./lib/ports.ts";
import { startDecisionFloor } from "./lib/decision_floor.ts";
import { type PairedWorkspace, pairedWorkspace } from "../tests/_helpers/approvals.ts";
import {
  type ApprovalState,
  type ApprovalWaiter,
  createApprovalWaiter,
  waiterTrace,
  type WaitOptions,
} from "../supabase/functions/_shared/approval_waiter.ts";
import { createSql, type Sql } from "../supabase/functions/_shared/db.ts";
import { createLogger } from "../supabase/functions/_shared/logger.ts";

const NAME = "approval";
const WAITERS = Number(Deno.env.get("WAITERS") ?? 1000);
const MEMORY_WAITERS = Number(Deno.env.get("MEMORY_WAITERS") ?? 10_000);
const DECISIONS_PER_SECOND = Number(Deno.env.get("DECISIONS_PER_SECOND") ?? 100);
const RSS_WAITERS = Number(Deno.env.get("RSS_WAITERS") ?? 1000);
const TARGET_P99_MS = 5;
const TARGET_RSS_RATIO = 1.2;
const IDLE_WINDOW_MS = 10_000;
/** wall-clock ms, comparable with the client Worker's stamps */
const wallNow = () => performance.timeOrigin + performance.now();
// Postgres flushes an idle backend's statistics up to 10 s late (PGSTAT_IDLE_INTERVAL):
// let the parking burst land before the idle window opens.
const STATS_SETTLE_MS = 11_000;
/** `APPROVAL_BENCH_PARTS=latency`: the project's latency run alone (a quick A/B) */
const LATENCY_ONLY = Deno.env.get("APPROVAL_BENCH_PARTS") === "latency";

function progress(message: string): void {
  Deno.stderr.writeSync(new TextEncoder().encode(`[${NAME}] ${message}\n`));
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}
const round = (n: number, digits = 1) => Number(n.toFixed(digits));

// ---- the baseline: each parked request polls its own approval every second ------------
function createPollingWaiter(sql: Sql, intervalMs = 1000): ApprovalWaiter & { queries: number } {
  const parked = new Set<() => void>();
  let stopped = false;
  const self = {
    queries: 0,
    async wait(approvalId: string, options: WaitOptions): Promise<ApprovalState | null> {
      const deadline = Date.now() + options.timeoutMs;
      let cancel = () => {};
      const cancelled = new Promise<void>((r) => (cancel = r));
      parked.add(cancel);
      try {
        while (!stopped && !options.signal?.aborted && Date.now() < deadline) {
          let timer: ReturnType<typeof setTimeout> | undefined;
          await Promise.race([
            new Promise((r) => (timer = setTimeout(r, intervalMs))),
            cancelled,
          ]);
          clearTimeout(timer);
          if (stopped) break;
          self.queries++;
          const [row] = await sql`
            select private.approval_state(a) as state from public.approvals a
            where a.id = ${approvalId}`;
          if (row && row.state.status !== "PENDING") return row.state as ApprovalState;
        }
        return null;
      } finally {
        parked.delete(cancel);
      }
    },
    shutdown() {
      stopped = true;
      for (const cancel of parked) cancel();
    },
    close() {
      self.shutdown();
      return Promise.resolve();
    },
    stats: () => ({ parked: parked.size, listening: false, queries: self.queries }),
  };
  return self;
}

// ---- one side of the latency/idle run, over real HTTP ----------------------------------
interface SideResult {
  /** how each decision was sent: the phone's HTTP request or the SQL call it makes */
  via: ("http" | "sql")[];
  /** decision sent → long-poll answer read by its client (both stamped off the server's
   * thread) */
  endToEnd: number[];
  /** decision sent → its own answer (HTTP response read, or SQL call returned) */
  decision: number[];
  /** decision's answer → long-poll answer read (for the SQL call: from its commit, at most) */
  latencies: number[];
  /** the waiter's steps (waiterTrace): decision sent → its NOTIFY handled, the batched
   * re-read (sent → returned), NOTIFY handled → the waiter handed the answer to the
   * endpoint, and from there → the client read it */
  toNotified: number[];
  reread: number[];
  toWoken: number[];
  wokenToRead: number[];
  /** how late a 5 ms timer fired on the server's thread while deciding (event-loop lag) */
  loopLag: number[];
  /** CPU ms per decision while deciding: this process (all threads), this database's
   * backends */
  cpuPerDecision: { deno: number; postgres: number };
  idleQueriesPerSecond: number;
  answered: number;
}

/** the samples of one way of deciding */
function arm(side: SideResult, xs: number[], via: "http" | "sql"): number[] {
  return xs.filter((x, i) => side.via[i] === via && Number.isFinite(x));
}

/** utime + stime of a process in ms (Linux /proc; 100 Hz ticks); NaN once it is gone */
function cpuMs(pid: number | "self"): number {
  try {
    const fields = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
}

async function xactCount(sql: postgres.Sql): Promise<number> {
  const [row] = await sql`
    select (xact_commit + xact_rollback)::bigint as n
    from pg_stat_database where datname = current_database()`;
  return Number(row.n);
}

/** The stack's approval waiter, replaced (deps builds its waiters on first use, behind a
 * getter) */
function replaceWaiter(stack: Stack, waiter: ApprovalWaiter): void {
  Object.defineProperty(stack.deps, "waiter", { value: waiter, configurable: true });
}

/** The long-poll clients in a Worker (approval_clients.ts), sent `request`; `answered`
 * resolves with every answer's stamp. */
function startClients(request: ClientsRequest) {
  const worker = new Worker(new URL("./approval_clients.ts", import.meta.url), {
    type: "module",
  });
  const answered = new Promise<ClientsResult>((resolve, reject) => {
    worker.onmessage = (e: MessageEvent<ClientsResult | { sent: number }>) => {
      if ("answeredAt" in e.data) resolve(e.data);
    };
    worker.onerror = (e) => reject(e);
  });
  worker.postMessage(request);
  return { worker, answered };
}

/** The phone in a Worker (approval_decider.ts), sent `order`: `warmedUp` resolves once its
 * connections are open, `go()` starts the paced decisions, `decided` has their stamps. */
function startDecider(order: DeciderRequest) {
  const worker = new Worker(new URL("./approval_decider.ts", import.meta.url), {
    type: "module",
  });
  let ready = () => {};
  const warmedUp = new Promise<void>((resolve) => (ready = resolve));
  const decided = new Promise<DeciderResult>((resolve, reject) => {
    worker.onmessage = (e: MessageEvent<DeciderResult | { ready: true }>) => {
      if ("via" in e.data) resolve(e.data);
      else ready();
    };
    worker.onerror = (e) => reject(e);
  });
  worker.postMessage(order);
  return { worker, warmedUp, decided, go: () => worker.postMessage("go") };
}

async function runSide(label: string, useBaseline: boolean): Promise<SideResult> {
  const stack: Stack = await startStack({
    checkResponses: false,
    env: {
      APPROVAL_WAIT_POLL_MS: "1000",
      APPROVAL_WAIT_MAX_SECONDS: "120",
      DB_POOL_MAX: "10",
      LOG_LEVEL: "error",
    },
  });
  let baseline: ReturnType<typeof createPollingWaiter> | undefined;
  if (useBaseline) {
    baseline = createPollingWaiter(stack.deps.sql);
    replaceWaiter(stack, baseline);
  }
  // Where the time goes: when the waiter hands each answer to the endpoint, and its steps
  // before that (NOTIFY handled, the re-read sent and returned).
  const wokeAt = new Map<string, number>();
  const notifiedAt = new Map<string, number>();
  const readSentAt = new Map<string, number>();
  const readDoneAt = new Map<string, number>();
  const stampsOf = { notified: notifiedAt, read: readSentAt, settled: readDoneAt };
  waiterTrace.on = (step, batch) => {
    const at = wallNow();
    // the last one: a request is answered by the last re-read of its id (once answered,
    // it is in no later batch)
    for (const id of batch) stampsOf[step].set(id, at);
  };
  const inner = stack.deps.waiter;
  replaceWaiter(stack, {
    ...inner,
    stats: () => inner.stats(),
    wait: (id, options) =>
      inner.wait(id, options).then((state) => {
        wokeAt.set(id, wallNow());
        return state;
      }),
  });
  const ws: PairedWorkspace = await pairedWorkspace(stack.sql);
  try {
    // One run per parked request, as in life: an agent blocks on one approval at a time.
    const rows = await stack.sql`
      with runs as (
        insert into public.runs (id, workspace_id, provider)
        select gen_random_uuid(), ${ws.workspaceId}, 'bench' from generate_series(1, ${WAITERS})
        returning id
      )
      insert into public.approvals (run_id, workspace_id, command, expires_at)
      select runs.id, ${ws.workspaceId}, 'make deploy', now() + interval '1 hour' from runs
      returning id`;
    const ids = rows.map((r) => r.id as string);

    progress(`${label}: parking ${WAITERS} long-polls over HTTP (clients in a Worker)`);
    const { worker: clients, answered } = startClients({
      functionsUrl: stack.functionsUrl,
      workspaceId: ws.workspaceId,
      secret: ws.secret,
      ids,
      timeoutSeconds: 120,
    });
    const parkedBy = Date.now() + 60_000;
    while (stack.deps.waiter.stats().parked < ids.length) {
      if (Date.now() > parkedBy) {
        throw new Error(`${label}: only ${stack.deps.waiter.stats().parked} parked`);
      }
      await sleep(50);
    }
    progress(`${label}: ${ids.length} parked; letting statistics settle`);
    await sleep(useBaseline || LATENCY_ONLY ? 2_000 : STATS_SETTLE_MS);

    const c0 = await xactCount(stack.sql);
    const t0 = performance.now();
    await sleep(IDLE_WINDOW_MS);
    const c1 = await xactCount(stack.sql);
    const seconds = (performance.now() - t0) / 1000;
    // Our own two reads of pg_stat_database are transactions too.
    const idleQueriesPerSecond = Math.max(0, c1 - c0 - 1) / seconds;
    progress(
      `${label}: ${idleQueriesPerSecond.toFixed(1)} transactions/s while ${ids.length} wait`,
    );

    progress(`${label}: deciding at ${DECISIONS_PER_SECOND}/s (the phone in a Worker)`);
    const loopLag: number[] = [];
    let lagFrom = performance.now();
    const lagTimer = setInterval(() => {
      const now = performance.now();
      loopLag.push(Math.max(0, now - lagFrom - 5));
      lagFrom = now;
    }, 5);
    // CPU time over the deciding window (noise on a shared machine moves wall-clock
    // latency, much less the CPU each decision costs): this process (server, phone and
    // clients), and this database's Postgres backends
    const { worker: decider, warmedUp, decided, go } = startDecider({
      functionsUrl: stack.functionsUrl,
      databaseUrl: stack.databaseUrl,
      token: ws.token,
      userId: ws.userId,
      ids,
      perSecond: DECISIONS_PER_SECOND,
    });
    await warmedUp;
    const backends = (await stack.sql`
      select pid from pg_stat_activity where datname = current_database()`).map((r) => r.pid);
    const cpu0 = [cpuMs("self"), ...backends.map(cpuMs)];
    go();
    const { via, sentAt, doneAt, failures } = await decided;
    const { answeredAt, statuses } = await answered;
    const cpu1 = [cpuMs("self"), ...backends.map(cpuMs)];
    // backends opened meanwhile (a pool that closed idle connections reopens them): all of
    // their CPU is in the window
    const opened = (await stack.sql`
      select pid from pg_stat_activity where datname = current_database()`)
      .map((r) => r.pid as number).filter((pid) => !backends.includes(pid));
    const openedCpu = opened.map(cpuMs).filter(Number.isFinite).reduce((a, b) => a + b, 0);
    clearInterval(lagTimer);
    decider.terminate();
    clients.terminate();
    if (failures.length) throw new Error(`${label}: decisions failed: ${failures.slice(0, 3)}`);
    const cpuPerDecision = {
      deno: (cpu1[0] - cpu0[0]) / ids.length,
      // (a backend gone meanwhile is left out)
      postgres: cpu1.slice(1).reduce(
        (sum, x, i) => Number.isFinite(x - cpu0[i + 1]) ? sum + x - cpu0[i + 1] : sum,
        openedCpu,
      ) / ids.length,
    };
    progress(
      `${label}: CPU per decision (its long-poll included): Deno ${
        cpuPerDecision.deno.toFixed(3)
      } ms, Postgres backends ${cpuPerDecision.postgres.toFixed(3)} ms`,
    );
    waiterTrace.on = undefined;
    const side: SideResult = {
      via,
      endToEnd: ids.map((_, i) => answeredAt[i] - sentAt[i]),
      decision: ids.map((_, i) => doneAt[i] - sentAt[i]),
      latencies: ids.map((_, i) => answeredAt[i] - doneAt[i]),
      toNotified: ids.map((id, i) => (notifiedAt.get(id) ?? NaN) - sentAt[i]),
      reread: ids.map((id) => (readDoneAt.get(id) ?? NaN) - (readSentAt.get(id) ?? NaN)),
      toWoken: ids.map((id) => (wokeAt.get(id) ?? NaN) - (notifiedAt.get(id) ?? NaN)),
      wokenToRead: ids.map((id, i) => answeredAt[i] - (wokeAt.get(id) ?? NaN)),
      loopLag,
      cpuPerDecision,
      idleQueriesPerSecond,
      answered: statuses.filter((s) => s === "APPROVED").length,
    };
    for (const way of ["http", "sql"] as const) {
      const steps: [string, number[]][] = [
        ["decision sent → its answer", side.decision],
        ["decision sent → NOTIFY handled", side.toNotified],
        ["the re-read (sent → returned)", side.reread],
        ["NOTIFY handled → waiter woke", side.toWoken],
        ["waiter woke → client read", side.wokenToRead],
        ["decision sent → client read", side.endToEnd],
      ];
      for (const [what, xs] of steps) {
        const ok = arm(side, xs, way);
        if (ok.length === 0) continue;
        progress(
          `${label} [${way}]: ${what} p50 ${percentile(ok, 50).toFixed(2)} p90 ${
            percentile(ok, 90).toFixed(2)
          } p99 ${percentile(ok, 99).toFixed(2)} max ${percentile(ok, 100).toFixed(2)} ms`,
        );
      }
    }
    progress(
      `${label}: event-loop lag (5 ms timer) p50 ${percentile(loopLag, 50).toFixed(2)} p99 ${
        percentile(loopLag, 99).toFixed(2)
      } ms; ${side.answered}/${ids.length} answered APPROVED`,
    );
    return side;
  } finally {
    await stack.close();
  }
}

// ---- memory per parked waiter (child process, --expose-gc) -----------------------------
interface MemoryResult {
  projectBytesPerWaiter: number;
  baselineBytesPerWaiter: number;
  pollOnlyQueriesPerSecond: number;
}

async function measureHeap(park: () => Promise<() => void> | (() => void)): Promise<number> {
  const gc = (globalThis as unknown as { gc: () => void }).gc;
  for (let i = 0; i < 3; i++) gc();
  await sleep(50);
  const before = Deno.memoryUsage().heapUsed;
  const release = await park();
  for (let i = 0; i < 3; i++) gc();
  const after = Deno.memoryUsage().heapUsed;
  release();
  return (after - before) / MEMORY_WAITERS;
}

async function memoryChild(): Promise<void> {
  const url = await freshDatabase();
  const log = createLogger("error");
  const sql = createSql(url, { max: 4 });
  let queries = 0;
  const counted = ((...args: Parameters<typeof sql>) => {
    queries++;
    return sql(...args);
  }) as unknown as Sql;
  const ids = Array.from({ length: MEMORY_WAITERS }, () => crypto.randomUUID());
  const far = Date.now() + 3_600_000;
  try {
    const project = createApprovalWaiter({
      config: { SUPABASE_DB_URL: url, APPROVAL_WAIT_LISTEN: true, APPROVAL_WAIT_POLL_MS: 1000 },
      sql: counted,
      log,
    });
    // Warm up the code paths (and open LISTEN) so the measurement is of the waiters only.
    const warm = new AbortController();
    const warmWait = project.wait(crypto.randomUUID(), {
      timeoutMs: 60_000,
      expiresAt: far,
      signal: warm.signal,
    });
    await sleep(500);
    warm.abort();
    await warmWait;
    const projectBytes = await measureHeap(() => {
      const controllers = ids.map(() => new AbortController());
      const waits = ids.map((id, i) =>
        project.wait(id, { timeoutMs: 3_600_000, expiresAt: far, signal: controllers[i].signal })
      );
      return () => {
        for (const c of controllers) c.abort();
        void Promise.all(waits);
      };
    });
    await project.close();

    const baseline = createPollingWaiter(counted, 60_000);
    const baselineBytes = await measureHeap(() => {
      const controllers = ids.map(() => new AbortController());
      const waits = ids.map((id, i) =>
        baseline.wait(id, { timeoutMs: 3_600_000, expiresAt: far, signal: controllers[i].signal })
      );
      return () => {
        baseline.shutdown();
        void Promise.all(waits);
      };
    });

    // The batched poll alone (APPROVAL_WAIT_LISTEN=false), 1,000 parked, counted at the pool.
    const pollOnly = createApprovalWaiter({
      config: { SUPABASE_DB_URL: url, APPROVAL_WAIT_LISTEN: false, APPROVAL_WAIT_POLL_MS: 1000 },
      sql: counted,
      log,
    });
    const some = ids.slice(0, 1000).map((id) =>
      pollOnly.wait(id, { timeoutMs: 3_600_000, expiresAt: far })
    );
    await sleep(1_500);
    const q0 = queries;
    const t0 = performance.now();
    await sleep(5_000);
    const pollOnlyQueriesPerSecond = (queries - q0) / ((performance.now() - t0) / 1000);
    await pollOnly.close();
    await Promise.all(some);

    const result: MemoryResult = {
      projectBytesPerWaiter: projectBytes,
      baselineBytesPerWaiter: baselineBytes,
      pollOnlyQueriesPerSecond,
    };
    console.log(JSON.stringify(result));
  } finally {
    await sql.end({ timeout: 1 });
    await dropDatabase(url);
  }
}

async function runMemoryChild(): Promise<MemoryResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--v8-flags=--expose-gc", new URL(import.meta.url).pathname, "--memory"],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error("the memory measurement failed");
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
  return JSON.parse(lines[lines.length - 1]);
}

// ---- process RSS: bridge-approval-wait holding RSS_WAITERS long-polls vs a bare server --
interface RssResult {
  projectIdle: number;
  projectHolding: number;
  floorIdle: number;
  floorHolding: number;
  /** V8's live heap (after the GC) at the same two moments */
  projectHeap: [number, number];
  floorHeap: [number, number];
  /** V8's heap as committed (live plus free pages it keeps), the same moments */
  projectHeapTotal: [number, number];
  floorHeapTotal: [number, number];
  /** V8's young generation as committed when holding (after the memory-reducing GC) */
  projectNewSpace: number;
  floorNewSpace: number;
  /** the floor with the driver's share (bench/lib/hold_server.ts, HOLD_QUERY=1) */
  driverIdle: number;
  driverHolding: number;
}

/** VmRSS of a process, in bytes (Linux /proc). */
function rssBytes(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) * 1024;
}

async function waitFor(what: string, check: () => Promise<boolean>): Promise<void> {
  const until = Date.now() + 120_000;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`${what}: not within 120 s`);
    await sleep(100);
  }
}

/** a server's memory after the memory-reducing GC (rss_entry.ts) */
interface Collected {
  rss: number;
  heap: number;
  heapTotal: number;
  newSpace: number;
}

/** Starts `deno run -A --cached-only <entry>` on a free port; resolves once it answers. */
async function serveProcess(entry: string, env: Record<string, string>) {
  const port = freePort();
  const report = await Deno.makeTempFile({ prefix: "rss-" });
  await new Deno.Command(Deno.execPath(), { args: ["cache", "--quiet", entry] }).output();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--v8-flags=--expose-gc", "bench/lib/rss_entry.ts", entry],
    env: { ...env, PORT: String(port), RSS_REPORT: report },
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`${entry} answering`, async () => {
    try {
      const res = await fetch(`${url}/held`);
      await res.body?.cancel();
      return true;
    } catch {
      return false;
    }
  });
  return {
    url,
    pid: child.pid,
    /** full GC in the server (rss_entry.ts), then its RSS */
    async collectedRss(): Promise<Collected> {
      await Deno.writeTextFile(report, "");
      child.kill("SIGUSR2");
      await waitFor("the GC report", async () => (await Deno.readTextFile(report)) !== "");
      await sleep(500);
      const usage = JSON.parse(await Deno.readTextFile(report));
      return {
        rss: rssBytes(child.pid),
        heap: usage.heapUsed,
        heapTotal: usage.heapTotal,
        newSpace: usage.newSpace,
      };
    },
    async stop() {
      child.kill("SIGKILL");
      await child.status;
    },
  };
}

async function measureRss(): Promise<RssResult> {
  const url = await freshDatabase();
  const sql = postgres(url, { max: 2, onnotice: () => {} });
  const env = {
    DATABASE_URL: url,
    HMAC_SECRET: TEST_HMAC_SECRET,
    SUPABASE_JWT_SECRET: TEST_JWT_SECRET,
    APPROVAL_WAIT_MAX_SECONDS: "120",
    DB_POOL_MAX: "10",
    LOG_LEVEL: "error",
    PATH: Deno.env.get("PATH") ?? "",
    HOME: Deno.env.get("HOME") ?? "",
    ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR")! } : {}),
  };
  try {
    const ws = await pairedWorkspace(sql);
    const rows = await sql`
      with runs as (
        insert into public.runs (id, workspace_id, provider)
        select gen_random_uuid(), ${ws.workspaceId}, 'bench'
        from generate_series(1, ${RSS_WAITERS + 1})
        returning id
      )
      insert into public.approvals (run_id, workspace_id, command, expires_at)
      select runs.id, ${ws.workspaceId}, 'make deploy', now() + interval '1 hour' from runs
      returning id`;
    const [warmId, ...ids] = rows.map((r) => r.id as string);
    const holding = async (
      entry: string,
      parked: (server: { url: string }) => Promise<number>,
      extraEnv: Record<string, string> = {},
    ): Promise<[Collected, Collected]> => {
      const server = await serveProcess(entry, { ...env, ...extraEnv });
      const clients = new Worker(new URL("./approval_clients.ts", import.meta.url), {
        type: "module",
      });
      const warm = new Worker(new URL("./approval_clients.ts", import.meta.url), {
        type: "module",
      });
      try {
        // "with one": a single request held (every module loaded, the pool and LISTEN up),
        // so the growth after it is what each further parked request costs
        const request: ClientsRequest = {
          functionsUrl: server.url,
          workspaceId: ws.workspaceId,
          secret: ws.secret,
          ids: [warmId],
          timeoutSeconds: 120,
        };
        warm.postMessage(request);
        await waitFor(`${entry} holding one`, async () => (await parked(server)) >= 1);
        await sleep(500);
        const idle = await server.collectedRss();
        clients.postMessage({ ...request, ids });
        await waitFor(
          `${entry} holding ${ids.length}`,
          async () => (await parked(server)) >= ids.length + 1,
        );
        await sleep(1_000); // the last parks settle
        return [idle, await server.collectedRss()];
      } finally {
        clients.terminate();
        warm.terminate();
        await server.stop();
      }
    };
    progress(`rss: bridge-approval-wait holding ${RSS_WAITERS} long-polls`);
    // parked = the first read done (its nonce stored); the park follows in the same turn
    const [projectOne, projectAll] = await holding(
      "supabase/functions/bridge-approval-wait/index.ts",
      async () => {
        const [r] = await sql`select count(*)::int as n from private.bridge_nonces
                              where workspace_id = ${ws.workspaceId}`;
        return r.n;
      },
    );
    progress(`rss: a bare Deno.serve holding ${RSS_WAITERS} requests`);
    const heldCount = async (s: { url: string }) => {
      const res = await fetch(`${s.url}/held`);
      return Number(await res.text());
    };
    const [floorOne, floorAll] = await holding("bench/lib/hold_server.ts", heldCount);
    progress(`rss: the same with postgres.js and one query per request (the driver's share)`);
    const [driverOne, driverAll] = await holding("bench/lib/hold_server.ts", heldCount, {
      HOLD_QUERY: "1",
    });
    return {
      projectIdle: projectOne.rss,
      projectHolding: projectAll.rss,
      floorIdle: floorOne.rss,
      floorHolding: floorAll.rss,
      projectHeap: [projectOne.heap, projectAll.heap],
      floorHeap: [floorOne.heap, floorAll.heap],
      projectHeapTotal: [projectOne.heapTotal, projectAll.heapTotal],
      floorHeapTotal: [floorOne.heapTotal, floorAll.heapTotal],
      projectNewSpace: projectAll.newSpace,
      floorNewSpace: floorAll.newSpace,
      driverIdle: driverOne.rss,
      driverHolding: driverAll.rss,
    };
  } finally {
    await sql.end({ timeout: 1 });
    await dropDatabase(url);
  }
}

// ---- the decision path's floor (bench/lib/decision_floor.ts) ----------------------------
/** decision sent → parked request answered through the floor server: the same clients and
 * phone Workers, WAITERS parked, HTTP decisions only, at the same pace. */
async function runDecisionFloor(): Promise<{ endToEnd: number[]; decision: number[] }> {
  const url = await freshDatabase();
  const ids = Array.from({ length: WAITERS }, () => crypto.randomUUID());
  const floor = await startDecisionFloor(url, ids);
  const { worker: clients, answered } = startClients({
    functionsUrl: floor.url,
    workspaceId: crypto.randomUUID(),
    secret: "floor", // signed as the real clients sign; the floor does not check it
    ids,
    timeoutSeconds: 120,
  });
  let decider: Worker | undefined;
  try {
    await waitFor(
      `the floor holding ${ids.length}`,
      () => Promise.resolve(floor.parked() >= ids.length),
    );
    await sleep(2_000);
    const phone = startDecider({
      functionsUrl: floor.url,
      databaseUrl: url,
      token: "floor",
      userId: crypto.randomUUID(),
      ids,
      perSecond: DECISIONS_PER_SECOND,
      arms: ["http"],
    });
    decider = phone.worker;
    await phone.warmedUp;
    phone.go();
    const { sentAt, doneAt, failures } = await phone.decided;
    const { answeredAt } = await answered;
    if (failures.length) throw new Error(`floor: decisions failed: ${failures.slice(0, 3)}`);
    return {
      endToEnd: ids.map((_, i) => answeredAt[i] - sentAt[i]),
      decision: ids.map((_, i) => doneAt[i] - sentAt[i]),
    };
  } finally {
    decider?.terminate();
    clients.terminate();
    await floor.close();
    await dropDatabase(url);
  }
}

// ---- main ------------------------------------------------------------------------------
if (Deno.args.includes("--memory")) {
  await memoryChild();
  Deno.exit(0);
}
if (Deno.args.includes("--rss")) {
  // the RSS comparison alone: deno run -A bench/approval.ts --rss
  console.log(JSON.stringify(await measureRss()));
  Deno.exit(0);
}

const loadAtStart = Deno.loadavg()[0];
/** the floor's decision path, with its p50/p99 printed */
async function decisionFloor() {
  progress(`floor: the same decisions through a bare Deno.serve (bench/lib/decision_floor.ts)`);
  const floor = await runDecisionFloor();
  const ok = floor.endToEnd.filter(Number.isFinite);
  progress(
    `floor: decision sent → answer read p50 ${percentile(ok, 50).toFixed(2)} / p99 ${
      percentile(ok, 99).toFixed(2)
    } ms; decision sent → its answer p50 ${
      percentile(floor.decision.filter(Number.isFinite), 50).toFixed(2)
    } / p99 ${percentile(floor.decision.filter(Number.isFinite), 99).toFixed(2)} ms`,
  );
  return ok;
}
if (LATENCY_ONLY) {
  await runSide("project (LISTEN + batched poll)", false);
  await decisionFloor();
  Deno.exit(0);
}
const project = await runSide("project (LISTEN + batched poll)", false);
const floorEndToEnd = await decisionFloor();
const base = await runSide("baseline (per-request 1 s polling)", true);
progress(`memory: ${MEMORY_WAITERS} parked waiters, each side`);
const memory = await runMemoryChild();
progress(`rss: ${RSS_WAITERS} held requests, each side`);
const rss = await measureRss();
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const rssRatio = rss.projectHolding / rss.floorHolding;
progress(
  `rss: bridge-approval-wait ${mib(rss.projectHolding)} (idle ${mib(rss.projectIdle)}), ` +
    `bare Deno.serve ${mib(rss.floorHolding)} (idle ${mib(rss.floorIdle)}): ${
      rssRatio.toFixed(2)
    }×`,
);
progress(
  `memory: ${memory.projectBytesPerWaiter.toFixed(0)} B per waiter (baseline ${
    memory.baselineBytesPerWaiter.toFixed(0)
  } B); poll only: ${memory.pollOnlyQueriesPerSecond.toFixed(2)} queries/s`,
);

/** p50/p99 of one way of deciding, as text */
function p50p99(side: SideResult, xs: number[], via: "http" | "sql"): string {
  const ok = arm(side, xs, via);
  return `p99 ${percentile(ok, 99).toFixed(1)} ms (p50 ${percentile(ok, 50).toFixed(1)} ms)`;
}
const p99Of = (side: SideResult, xs: number[], via: "http" | "sql") =>
  percentile(arm(side, xs, via), 99);
const httpP99 = p99Of(project, project.endToEnd, "http");
/** a context row of the SQL-call decisions: project vs baseline */
function sqlContextRow(what: string, pick: (side: SideResult) => number[]) {
  return {
    what,
    target: "(context)",
    measured: p50p99(project, pick(project), "sql"),
    baseline: `${p50p99(base, pick(base), "sql")}, per-request 1 s polling`,
    ratio: round(p99Of(project, pick(project), "sql") / p99Of(base, pick(base), "sql"), 3),
    pass: null,
  };
}
const stepText = (xs: number[], via: "http" | "sql") =>
  `${percentile(arm(project, xs, via), 50).toFixed(1)}/${
    percentile(arm(project, xs, via), 99).toFixed(1)
  }`;
const kib = (bytes: number) => `${(bytes / 1024).toFixed(2)} KiB`;
const result = {
  name: NAME,
  command: "node scripts/with_test_db.mjs deno run -A bench/approval.ts",
  rows: [
    {
      what:
        `decision request sent (the phone's HTTP request) → parked hook runner answered, ${WAITERS} parked (p99)`,
      target: `≤ ${TARGET_P99_MS} ms`,
      measured: p50p99(project, project.endToEnd, "http"),
      baseline: `${p50p99(base, base.endToEnd, "http")}, per-request 1 s polling`,
      ratio: round(httpP99 / p99Of(base, base.endToEnd, "http"), 3),
      pass: httpP99 <= TARGET_P99_MS && project.answered === WAITERS,
    },
    {
      what:
        `the floor of that path: a bare Deno.serve, the HTTP decision → one UPDATE + pg_notify → LISTEN → one re-read → the parked request answered, ${WAITERS} parked (p99)`,
      target: `(context) ≤ ${TARGET_P99_MS} ms, or the target is out of reach`,
      measured: `p99 ${percentile(floorEndToEnd, 99).toFixed(1)} ms (p50 ${
        percentile(floorEndToEnd, 50).toFixed(1)
      } ms); the project is ${(httpP99 / percentile(floorEndToEnd, 99)).toFixed(2)} × it`,
      baseline: "bench/lib/decision_floor.ts: no auth, no hash chain, no outbox, no receipt",
      ratio: round(percentile(floorEndToEnd, 99) / TARGET_P99_MS, 2),
      pass: null,
    },
    sqlContextRow(
      `the same from the decision's SQL call (private.decide_approval, as earlier rounds measured), ${WAITERS} parked (p99)`,
      (side) => side.endToEnd,
    ),
    sqlContextRow(
      `the same from the decision's SQL call returned (an upper bound of its commit) (p99)`,
      (side) => side.latencies,
    ),
    {
      what: `database queries per second while ${WAITERS} requests wait (pg_stat_database)`,
      target: "≤ 5",
      measured: `${project.idleQueriesPerSecond.toFixed(2)} /s`,
      baseline: `${base.idleQueriesPerSecond.toFixed(0)} /s, per-request 1 s polling`,
      ratio: round(project.idleQueriesPerSecond / base.idleQueriesPerSecond, 4),
      pass: project.idleQueriesPerSecond <= 5,
    },
    {
      what: `database queries per second while ${WAITERS} requests wait, LISTEN off`,
      target: "≤ 5",
      measured: `${memory.pollOnlyQueriesPerSecond.toFixed(2)} /s (batched poll every 1 s)`,
      baseline: `${base.idleQueriesPerSecond.toFixed(0)} /s, per-request 1 s polling`,
      ratio: round(memory.pollOnlyQueriesPerSecond / base.idleQueriesPerSecond, 4),
      pass: memory.pollOnlyQueriesPerSecond <= 5,
    },
    {
      what: `process RSS holding ${RSS_WAITERS} parked long-polls (bridge-approval-wait)`,
      target: `≤ ${TARGET_RSS_RATIO} × a bare Deno.serve holding as many`,
      measured: `${mib(rss.projectHolding)} (with one ${mib(rss.projectIdle)}; +${
        ((rss.projectHolding - rss.projectIdle) / RSS_WAITERS / 1024).toFixed(1)
      } KiB per request)`,
      baseline: `${mib(rss.floorHolding)} (with one ${mib(rss.floorIdle)}; +${
        ((rss.floorHolding - rss.floorIdle) / RSS_WAITERS / 1024).toFixed(1)
      } KiB per request)`,
      ratio: round(rssRatio, 2),
      pass: rssRatio <= TARGET_RSS_RATIO,
      note: `of which V8's live heap after a full GC: +${
        ((rss.projectHeap[1] - rss.projectHeap[0]) / RSS_WAITERS / 1024).toFixed(1)
      } KiB per request (floor +${
        ((rss.floorHeap[1] - rss.floorHeap[0]) / RSS_WAITERS / 1024).toFixed(1)
      } KiB); the rest is outside the heap (connections, code, committed pages). Measured after V8's memory-reducing GC (young generation ${
        kib(rss.projectNewSpace)
      } committed, floor ${kib(rss.floorNewSpace)})`,
    },
    {
      what:
        `process RSS holding ${RSS_WAITERS} requests: the floor with the database driver's share (postgres.js, same pool, LISTEN, one query per request)`,
      target: "(context) what any long-poll that reads its state once carries",
      measured: `${mib(rss.driverHolding)} (with one ${mib(rss.driverIdle)}; +${
        ((rss.driverHolding - rss.driverIdle) / RSS_WAITERS / 1024).toFixed(1)
      } KiB per request); bridge-approval-wait is ${
        (rss.projectHolding / rss.driverHolding).toFixed(2)
      } × it`,
      baseline: `${mib(rss.floorHolding)}, the bare Deno.serve`,
      ratio: round(rss.driverHolding / rss.floorHolding, 2),
      pass: null,
    },
    {
      what: `memory per parked waiter (${MEMORY_WAITERS} waiters, V8 heap)`,
      target: "(context)",
      measured: kib(memory.projectBytesPerWaiter),
      baseline: `${kib(memory.baselineBytesPerWaiter)}, a per-request polling loop`,
      ratio: round(memory.projectBytesPerWaiter / memory.baselineBytesPerWaiter, 3),
      pass: null,
    },
  ],
  distributions: [
    {
      title:
        `decision request (HTTP) → answer latency, ${WAITERS} parked, ${DECISIONS_PER_SECOND} decisions/s`,
      unit: "ms",
      series: {
        project: arm(project, project.endToEnd, "http").map((x) => round(x, 2)),
        baseline: arm(base, base.endToEnd, "http").map((x) => round(x, 2)),
      },
    },
  ],
  notes: [
    "Latency runs from the moment the phone sends its decision to the moment the long-poll's HTTP response is read by its client. The phone (bench/approval_decider.ts) and the 1,000 long-poll clients (bench/approval_clients.ts) each run in a Worker, off the thread of the functions they drive; stamps are wall-clock (performance.timeOrigin + now()) on every thread. The phone alternates the HTTP request (POST /mobile-approval-decision with its token: JWT, pipeline, the SQL call, then the clear push's sweep after the response) and the endpoint's SQL call alone (private.decide_approval on the Worker's own connection, as earlier rounds measured from the server's thread), so both are from the same run. Both sides go through the same HTTP endpoint, the baseline with the waiter replaced by a loop that reads its approval every second.",
    `The machine is shared (other engineers' test runs); 1-minute load average ${
      loadAtStart.toFixed(1)
    } at the start and ${
      Deno.loadavg()[0].toFixed(1)
    } at the end on ${navigator.hardwareConcurrency} cores: tail latencies move with it.`,
    `Where the project's time goes, HTTP decisions (p50/p99 ms): decision sent → NOTIFY handled by the waiter ${
      stepText(project.toNotified, "http")
    } (its own answer to the phone ${stepText(project.decision, "http")}); the re-read ${
      stepText(project.reread, "http")
    }; NOTIFY handled → waiter woke ${
      stepText(project.toWoken, "http")
    }; waiter woke → HTTP answer read ${
      stepText(project.wokenToRead, "http")
    }. SQL-call decisions: sent → NOTIFY handled ${
      stepText(project.toNotified, "sql")
    }; event-loop lag of the server's thread while deciding ${
      percentile(project.loopLag, 50).toFixed(1)
    }/${percentile(project.loopLag, 99).toFixed(1)}.`,
    `Queries per second are the database's committed + rolled-back transactions (pg_stat_database) over ${
      IDLE_WINDOW_MS / 1000
    } s while every request waits; the LISTEN-off row counts the queries sent by the waiter's pool.`,
    `RSS: bridge-approval-wait as its own process (its index.ts with PORT, as cold_start runs it) and bench/lib/hold_server.ts (a bare Deno.serve that holds each request on a timer), each started through bench/lib/rss_entry.ts (--expose-gc; a full GC on SIGUSR2) and sent ${RSS_WAITERS} signed long-polls from a Worker; VmRSS from /proc 1 s after a full GC, once all are held (the function's: once every first read has stored its nonce). The 'with one' figure is the same with a single request held (every module loaded, the pool and LISTEN up); the growth after it, divided by the count, is what each further parked request costs.`,
    "The V8 heap row: heap growth after a forced GC with all waiters parked in-process (each with its own AbortSignal, as a request has), divided by the count; no HTTP connection.",
  ],
};
await Deno.mkdir(".tmp/bench", { recursive: true });
await Deno.writeTextFile(`.tmp/bench/${NAME}.json`, JSON.stringify(result, null, 2) + "\n");
progress(`wrote .tmp/bench/${NAME}.json`);
console.log(JSON.stringify(result.rows, null, 2));
