// Signed event ingest throughput (docs/contract/targets.md#benchmarks): bridge-event, served as its
// own process (supabase/functions/bridge-event/index.ts, as deployed), against the floor: a bare
// Deno.serve process that stores the same JSON with one INSERT into a copy of the events
// table (bench/lib/ingest_floor.ts), driven by the same load generator (signed requests,
// one run per client) at concurrency 16 and 64, in the same run. Target: ≥ 0.7 × the
// floor. Beside it, the required-work floor: the same bare server doing, in one statement,
// the durable writes the hardening requires (nonce, both rate-limit counters, the run's lock
// and hash chain, the event) into copies of those tables; if even that is below 0.7 × the
// floor, no implementation that keeps the hardening can reach the target. pgbench inserting event rows is printed beside it, and a no-op Deno.serve shows
// what the load generator itself can drive (if that is not well above the floor, the
// generator bounds the figure).
//   node scripts/with_test_db.mjs deno run -A bench/ingest.ts
import postgres from "postgres";
import {
  dropDatabase,
  freshDatabase,
  TEST_HMAC_SECRET,
  TEST_JWT_SECRET,
} from "../tests/_helpers/stack.ts";
import { randomWorkspace } from "../tests/_helpers/fixtures.ts";
import type { LoadRequest, LoadResult } from "./ingest_load.ts";
import { freePort } from "./lib/ports.ts";
import { type BenchRow, progress, writeResult } from "./lib/result.ts";
import { fmt, percentile } from "./lib/stats.ts";

const NAME = "ingest";
const CONCURRENCY = [16, 64];
// Each side runs ROUNDS slices of PHASE_S seconds, interleaved, so that a change in the
// machine's background load (it is shared) hits every side alike.
const PHASE_S = Number(Deno.env.get("BENCH_PHASE_SECONDS") ?? "3");
const ROUNDS = Number(Deno.env.get("BENCH_ROUNDS") ?? "3");
const TARGET_RATIO = 0.7;
// requests signed before each slice, per second of it (more are signed on the fly)
const PRESIGNED_PER_SECOND = Number(Deno.env.get("BENCH_PRESIGNED_PER_SECOND") ?? "6000");

const log = (line: string) => progress(NAME, line);

/** At most n evenly spaced samples of a sorted series (for the distribution plot). */
function downsample(sorted: number[], n = 500): number[] {
  if (sorted.length <= n) return sorted.map((v) => Math.round(v * 1000) / 1000);
  return Array.from(
    { length: n },
    (_, i) => Math.round(sorted[Math.floor((i * sorted.length) / n)] * 1000) / 1000,
  );
}

/** CPU seconds (user + system) a process has used so far (Linux /proc). */
function cpuSeconds(pid: number | "self"): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime at 100 Hz
  } catch {
    return NaN;
  }
}

/** CPU seconds of the whole Postgres server so far: the postmaster, its live backends and
 * the backends that have exited (the postmaster's children times). */
function postgresCpuSeconds(postmaster: number): number {
  let total = 0;
  try {
    const stat = Deno.readTextFileSync(`/proc/${postmaster}/stat`);
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    total += (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / 100;
    for (const entry of Deno.readDirSync("/proc")) {
      if (!/^\d+$/.test(entry.name)) continue;
      try {
        const s = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
        const g = s.slice(s.lastIndexOf(")") + 2).split(" ");
        if (Number(g[1]) === postmaster) total += (Number(g[11]) + Number(g[12])) / 100;
      } catch { /* gone */ }
    }
  } catch {
    return NaN;
  }
  return total;
}

function runLoad(request: LoadRequest): Promise<LoadResult> {
  const worker = new Worker(new URL("./ingest_load.ts", import.meta.url), { type: "module" });
  return new Promise((resolve, reject) => {
    worker.onmessage = (e: MessageEvent<LoadResult>) => {
      worker.terminate();
      resolve(e.data);
    };
    worker.onerror = (e) => {
      worker.terminate();
      reject(e);
    };
    worker.postMessage(request);
  });
}

interface Server {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** Starts `deno run -A --cached-only <entry>` on a free port; resolves once it answers. */
async function startServer(entry: string, env: Record<string, string>): Promise<Server> {
  const port = freePort();
  await new Deno.Command(Deno.execPath(), { args: ["cache", "--quiet", entry] }).output();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--cached-only", entry],
    env: { ...env, PORT: String(port) },
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  const url = `http://127.0.0.1:${port}/bridge-event`;
  const started = Date.now();
  for (;;) {
    try {
      const res = await fetch(url, { method: "GET" });
      await res.body?.cancel();
      break;
    } catch {
      if (Date.now() - started > 60_000) throw new Error(`${entry} did not answer in 60 s`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  return {
    url,
    pid: child.pid,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
    },
  };
}

const PGBENCH_SCRIPT = `
insert into public.events (id, run_id, workspace_id, seq, type, provider, event_ts, payload,
                           prev_hash, hash)
select gen_random_uuid(), b.run_id, b.workspace_id, nextval('bench.event_seq'), 'TOOL_USED',
       'claude-code', now(), jsonb_build_object('tool', 'Bash', 'message', 'step ' || :client_id),
       null, encode(sha256(convert_to(b.run_id::text || clock_timestamp()::text, 'UTF8')), 'hex')
from bench.runs b where b.client_id = :client_id;
`;

async function runPgbench(databaseUrl: string, clients: number, seconds: number) {
  const dir = await Deno.makeTempDir({ prefix: "pgbench-" });
  const script = `${dir}/insert_event.sql`;
  await Deno.writeTextFile(script, PGBENCH_SCRIPT);
  const out = await new Deno.Command("pgbench", {
    args: [
      "-n",
      "-c",
      String(clients),
      "-j",
      "2",
      "-T",
      String(seconds),
      "-f",
      script,
      databaseUrl,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  await Deno.remove(dir, { recursive: true });
  if (!out.success) throw new Error(`pgbench failed: ${new TextDecoder().decode(out.stderr)}`);
  const text = new TextDecoder().decode(out.stdout);
  return {
    tps: Number(/tps = ([\d.]+)/.exec(text)?.[1] ?? NaN),
    latencyMs: Number(/latency average = ([\d.]+) ms/.exec(text)?.[1] ?? NaN),
  };
}

interface Side {
  label: string;
  latencies: number[];
  seconds: number;
  failures: Record<string, number>;
  /** CPU seconds of the server process, of the load generator (the bench process) and of
   * Postgres */
  serverCpu: number;
  generatorCpu: number;
  postgresCpu: number;
}

const databaseUrl = await freshDatabase();
const sql = postgres(databaseUrl, { max: 2, onnotice: () => {} });
const env = {
  DATABASE_URL: databaseUrl,
  HMAC_SECRET: TEST_HMAC_SECRET,
  SUPABASE_JWT_SECRET: TEST_JWT_SECRET,
  RATE_LIMIT_EVENTS_PER_MINUTE: "100000000",
  RATE_LIMIT_EVENTS_PER_HOUR: "100000000",
  LOG_LEVEL: "error",
  PATH: Deno.env.get("PATH") ?? "",
  HOME: Deno.env.get("HOME") ?? "",
  ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR")! } : {}),
};
const rows: BenchRow[] = [];
const distributions = [];
const notes: string[] = [];
try {
  await sql`create schema bench`;
  // the floor's table: public.events' columns, defaults, constraints and indexes
  await sql`create table bench.events_copy (like public.events including all)`;
  await sql`create sequence bench.event_seq`;
  await sql`create table bench.runs (client_id int primary key, run_id uuid, workspace_id uuid)`;
  // the required-work floor's tables (copies with the same keys and indexes) and its call
  await sql.unsafe(
    await Deno.readTextFile(new URL("./lib/ingest_required_work.sql", import.meta.url)),
  );
  const [{ pid: backend }] = await sql`select pg_backend_pid() as pid`;
  const backendStat = Deno.readTextFileSync(`/proc/${backend}/stat`);
  const postmaster = Number(
    backendStat.slice(backendStat.lastIndexOf(")") + 2).split(" ")[1],
  );
  const maxClients = Math.max(...CONCURRENCY);
  for (let i = 0; i < maxClients; i++) {
    const ws = await randomWorkspace(sql);
    const runId = crypto.randomUUID();
    await sql`insert into public.runs (id, workspace_id, provider)
              values (${runId}, ${ws.workspaceId}, 'claude-code')`;
    await sql`insert into bench.runs values (${i}, ${runId}, ${ws.workspaceId})`;
  }

  for (const concurrency of CONCURRENCY) {
    const clients = [];
    for (let i = 0; i < concurrency; i++) {
      const ws = await randomWorkspace(sql);
      clients.push({ ...ws, runId: crypto.randomUUID() });
    }
    // bridge-event creates a run on its first event; the required-work floor's exist
    await sql`insert into bench.req_runs (id, workspace_id, provider)
              select t.run, t.ws, 'claude-code'
              from unnest(${clients.map((c) => c.runId)}::uuid[],
                          ${clients.map((c) => c.workspaceId)}::uuid[]) as t (run, ws)`;
    const serverEnv = { ...env, DB_POOL_MAX: String(concurrency) };
    const servers = {
      project: await startServer("supabase/functions/bridge-event/index.ts", serverEnv),
      required: await startServer("bench/lib/ingest_floor.ts", {
        ...serverEnv,
        FLOOR: "required",
      }),
      floor: await startServer("bench/lib/ingest_floor.ts", serverEnv),
      noop: await startServer("bench/lib/noop_server.ts", serverEnv),
    };
    const side = (label: string): Side => ({
      label,
      latencies: [],
      seconds: 0,
      failures: {},
      serverCpu: 0,
      generatorCpu: 0,
      postgresCpu: 0,
    });
    const sides: Record<keyof typeof servers, Side> = {
      project: side("bridge-event"),
      required: side("required-work floor"),
      floor: side("floor"),
      noop: side("no-op"),
    };
    let pgTps = 0;
    let pgLatency = 0;
    try {
      log(`concurrency ${concurrency}: warming up every side`);
      for (const server of Object.values(servers)) {
        await runLoad({ url: server.url, clients, durationMs: 1000, presigned: 50 });
      }
      for (let round = 1; round <= ROUNDS; round++) {
        for (const key of Object.keys(servers) as (keyof typeof servers)[]) {
          const side = sides[key];
          const s0 = cpuSeconds(servers[key].pid);
          const g0 = cpuSeconds("self");
          const p0 = postgresCpuSeconds(postmaster);
          const load = await runLoad({
            url: servers[key].url,
            clients,
            durationMs: PHASE_S * 1000,
            presigned: Math.ceil((PRESIGNED_PER_SECOND * PHASE_S) / concurrency),
          });
          if (load.signedLate > 0) {
            log(`${side.label}: ${load.signedLate} requests signed during the window`);
          }
          side.serverCpu += cpuSeconds(servers[key].pid) - s0;
          side.generatorCpu += cpuSeconds("self") - g0;
          side.postgresCpu += postgresCpuSeconds(postmaster) - p0;
          side.latencies.push(...load.latenciesMs);
          side.seconds += load.elapsedMs / 1000;
          for (const [k, v] of Object.entries(load.failures)) {
            side.failures[k] = (side.failures[k] ?? 0) + v;
          }
          log(
            `c=${concurrency} round ${round}/${ROUNDS}: ${side.label} ${
              fmt(load.latenciesMs.length / (load.elapsedMs / 1000))
            }/s`,
          );
        }
        const pg = await runPgbench(databaseUrl, concurrency, PHASE_S);
        pgTps += pg.tps / ROUNDS;
        pgLatency += pg.latencyMs / ROUNDS;
        log(`c=${concurrency} round ${round}/${ROUNDS}: pgbench ${fmt(pg.tps)}/s`);
      }
    } finally {
      for (const server of Object.values(servers)) await server.stop();
    }
    const rate = (s: Side) => s.latencies.length / s.seconds;
    const p = (s: Side, q: number) => percentile(s.latencies, q);
    const { project, required, floor, noop } = sides;
    const ratio = rate(project) / rate(floor);
    const requiredRatio = rate(required) / rate(floor);
    const [{ ok }] = await sql`
      select coalesce(bool_and((select v.ok from private.verify_event_chain(r.id) v)), false)
             as ok
      from public.runs r where r.workspace_id = any(${clients.map((c) => c.workspaceId)})`;
    for (const s of [project, required, floor, noop]) {
      if (Object.keys(s.failures).length) {
        log(`c=${concurrency} ${s.label} failures: ${JSON.stringify(s.failures)}`);
      }
    }
    const perRequestMs = (cpu: number, s: Side) => fmt((cpu / s.latencies.length) * 1000);
    // On 2 CPU-bound cores the rate is the inverse of the CPU an event costs everything that
    // runs (server, Postgres, generator): that ratio does not move with the other load on a
    // shared machine as much as the rates do.
    const cpuPerEvent = (s: Side) =>
      (s.serverCpu + s.postgresCpu + s.generatorCpu) / s.latencies.length;
    const cpuRatio = (s: Side) => cpuPerEvent(floor) / cpuPerEvent(s);
    log(
      `c=${concurrency}: bridge-event ${fmt(rate(project))}/s, floor ${fmt(rate(floor))}/s ` +
        `(ratio ${ratio.toFixed(2)}), required-work floor ${fmt(rate(required))}/s (ratio ${
          requiredRatio.toFixed(2)
        }, bridge-event ${(rate(project) / rate(required)).toFixed(2)} × it), no-op ${
          fmt(rate(noop))
        }/s, pgbench ${fmt(pgTps)}/s; by CPU per event: bridge-event ${
          cpuRatio(project).toFixed(2)
        }, required-work floor ${cpuRatio(required).toFixed(2)} × the floor; ` +
        `chains verify: ${ok}`,
    );
    const lat = (s: Side) => `p50 ${fmt(p(s, 50))} ms, p99 ${fmt(p(s, 99))} ms`;
    rows.push({
      what: `signed event ingest, concurrency ${concurrency} (one run per client)`,
      target: `≥ ${TARGET_RATIO} × the floor`,
      measured: `${fmt(rate(project))} events/s (${lat(project)})`,
      baseline: `floor ${fmt(rate(floor))} inserts/s (${lat(floor)}); pgbench ${
        fmt(pgTps)
      }/s (avg ${fmt(pgLatency)} ms)`,
      ratio: Math.round(ratio * 1000) / 1000,
      pass: ratio >= TARGET_RATIO && ok === true,
    });
    rows.push({
      what: `required-work floor, concurrency ${concurrency}: a bare Deno.serve doing only the ` +
        `hardening's durable writes (nonce, 2 rate-limit counters, run lock + hash chain, event) ` +
        `in one statement`,
      target: `(context) ≥ ${TARGET_RATIO} × the floor, or the target is out of reach`,
      measured: `${fmt(rate(required))} events/s (${lat(required)}); bridge-event is ${
        (rate(project) / rate(required)).toFixed(2)
      } × it; by CPU per event (server + Postgres + generator, ${
        fmt(cpuPerEvent(required) * 1000)
      } ms) ${cpuRatio(required).toFixed(2)} × the floor, bridge-event (${
        fmt(cpuPerEvent(project) * 1000)
      } ms) ${cpuRatio(project).toFixed(2)} ×`,
      baseline: `floor ${fmt(rate(floor))}/s (${fmt(cpuPerEvent(floor) * 1000)} ms CPU per event)`,
      ratio: Math.round(requiredRatio * 1000) / 1000,
      pass: null,
    });
    rows.push({
      what: `the load generator itself, concurrency ${concurrency}: a no-op Deno.serve`,
      target: "(bound) well above the floor",
      measured: `${fmt(rate(noop))} requests/s (${lat(noop)})`,
      baseline: `floor ${fmt(rate(floor))}/s`,
      ratio: Math.round((rate(noop) / rate(floor)) * 100) / 100,
      pass: null,
    });
    notes.push(
      `c=${concurrency}, CPU per request (server process / Postgres / load generator): ` +
        `bridge-event ${perRequestMs(project.serverCpu, project)} / ${
          perRequestMs(project.postgresCpu, project)
        } / ${perRequestMs(project.generatorCpu, project)} ms; required-work floor ${
          perRequestMs(required.serverCpu, required)
        } / ${perRequestMs(required.postgresCpu, required)} / ${
          perRequestMs(required.generatorCpu, required)
        } ms; floor ${perRequestMs(floor.serverCpu, floor)} / ${
          perRequestMs(floor.postgresCpu, floor)
        } / ${perRequestMs(floor.generatorCpu, floor)} ms; no-op ${
          perRequestMs(noop.serverCpu, noop)
        } / – / ${perRequestMs(noop.generatorCpu, noop)} ms.`,
    );
    const sorted = (s: Side) => [...s.latencies].sort((a, b) => a - b);
    distributions.push({
      title: `event latency at concurrency ${concurrency}`,
      unit: "ms",
      series: { project: downsample(sorted(project)), baseline: downsample(sorted(floor)) },
    });
  }
} finally {
  await sql.end({ timeout: 1 });
  await dropDatabase(databaseUrl);
}

notes.unshift(
  `Four processes per concurrency, each \`deno run -A --cached-only\`: bridge-event ` +
    `(supabase/functions/bridge-event/index.ts with PORT set, its pool at DB_POOL_MAX = the ` +
    `concurrency), the floor (bench/lib/ingest_floor.ts: Deno.serve + one bound INSERT into ` +
    `bench.events_copy, a copy of public.events made with LIKE … INCLUDING ALL, through the ` +
    `same createSql), the required-work floor (the same server with FLOOR=required: one bound ` +
    `call of bench.required_work, bench/lib/ingest_required_work.sql, one statement that ` +
    `inserts the nonce, upserts both rate-limit counters, locks the run and advances its ` +
    `sha256 chain, inserts the event, into LIKE … INCLUDING ALL copies of bridge_nonces, ` +
    `rate_limits, runs and events; no reads or checks beyond those, no foreign keys: a lower ` +
    `bound on any implementation that keeps the hardening) and a no-op Deno.serve that reads the body and answers 202 (bench/lib/noop_server.ts). One load generator ` +
    `(bench/ingest_load.ts, a Worker in the bench process: requests v2-signed before the ` +
    `clock starts, written as raw HTTP/1.1 on one keep-alive connection per client) sends ` +
    `the same requests to each, every client to its own workspace and run; ${ROUNDS} interleaved ` +
    `slices of ${PHASE_S} s per side. pgbench (-c = the concurrency, -j 2) inserts event ` +
    `rows with one SQL statement per transaction between the slices.`,
  `The no-op row bounds every figure: the generator cannot drive anything faster than it. ` +
    `On 2 shared cores the generator, the server and Postgres compete for the same CPUs, ` +
    `so the CPU per request below (from /proc, user + system; Postgres = this bench's own cluster: its postmaster and every backend) says where the time goes.`,
);
const path = await writeResult({
  name: NAME,
  command: "node scripts/with_test_db.mjs deno run -A bench/ingest.ts",
  rows,
  distributions,
  notes,
});
log(`wrote ${path}`);
