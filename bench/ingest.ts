// Signed event ingest throughput (SPEC section 10): bridge-event over real HTTP, signed
// like the client, at concurrency 16 and 64, against pgbench inserting the same event rows
// into the same database at the same concurrency, in the same run. Prints the ratio.
//   node scripts/with_test_db.mjs deno run -A bench/ingest.ts
import { startStack } from "../tests/_helpers/stack.ts";
import { randomWorkspace } from "../tests/_helpers/fixtures.ts";
import type { LoadRequest, LoadResult } from "./ingest_load.ts";

const CONCURRENCY = [16, 64];
// Each side runs ROUNDS slices of PHASE_S seconds, alternating, so that a change in the
// machine's background load (it is shared) hits both sides alike.
const PHASE_S = Number(Deno.env.get("BENCH_PHASE_SECONDS") ?? "3");
const ROUNDS = 3;
const TARGET_RATIO = 0.3;
const OUT_DIR = ".tmp/bench";

const log = (line: string) => console.error(`[ingest] ${line}`);

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function summary(latencies: number[], seconds: number) {
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    perSecond: latencies.length / seconds,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    sorted,
  };
}

/** At most n evenly spaced samples of a sorted series (for the distribution plot). */
function downsample(sorted: number[], n = 500): number[] {
  if (sorted.length <= n) return sorted.map((v) => Math.round(v * 1000) / 1000);
  return Array.from(
    { length: n },
    (_, i) => Math.round(sorted[Math.floor((i * sorted.length) / n)] * 1000) / 1000,
  );
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
  const cmd = new Deno.Command("pgbench", {
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
      "-l",
      "--log-prefix",
      `${dir}/log`,
      databaseUrl,
    ],
    stdout: "piped",
    stderr: "piped",
  });
  const out = await cmd.output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(`pgbench failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  const latencies: number[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.name.startsWith("log")) continue;
    for (const line of (await Deno.readTextFile(`${dir}/${entry.name}`)).split("\n")) {
      const fields = line.trim().split(/\s+/);
      if (fields.length >= 6 && fields[3] === "0") latencies.push(Number(fields[2]) / 1000);
    }
  }
  await Deno.remove(dir, { recursive: true });
  const tps = Number(/tps = ([\d.]+)/.exec(text)?.[1] ?? NaN);
  return { latencies, tps };
}

const rows = [];
const distributions = [];
for (const concurrency of CONCURRENCY) {
  const stack = await startStack({
    env: {
      RATE_LIMIT_EVENTS_PER_MINUTE: "100000000",
      RATE_LIMIT_EVENTS_PER_HOUR: "100000000",
      DB_POOL_MAX: String(concurrency),
      LOG_LEVEL: "error",
    },
  });
  try {
    const clients = [];
    for (let i = 0; i < concurrency; i++) {
      const ws = await randomWorkspace(stack.sql);
      clients.push({ ...ws, runId: crypto.randomUUID() });
    }
    // pgbench's rows go to runs of their own, one per pgbench client
    await stack.sql`create schema bench`;
    await stack.sql`create sequence bench.event_seq`;
    await stack
      .sql`create table bench.runs (client_id int primary key, run_id uuid, workspace_id uuid)`;
    for (let i = 0; i < concurrency; i++) {
      const ws = await randomWorkspace(stack.sql);
      const runId = crypto.randomUUID();
      await stack.sql`insert into public.runs (id, workspace_id, provider)
                      values (${runId}, ${ws.workspaceId}, 'claude-code')`;
      await stack.sql`insert into bench.runs values (${i}, ${runId}, ${ws.workspaceId})`;
    }

    log(`concurrency ${concurrency}: warming up`);
    await runLoad({ functionsUrl: stack.functionsUrl, clients, durationMs: 1500 });
    const projectLatencies: number[] = [];
    const baselineLatencies: number[] = [];
    let projectSeconds = 0;
    let baselineRows = 0;
    for (let round = 1; round <= ROUNDS; round++) {
      log(`concurrency ${concurrency}, round ${round}/${ROUNDS}: bridge-event for ${PHASE_S} s`);
      const load = await runLoad({
        functionsUrl: stack.functionsUrl,
        clients,
        durationMs: PHASE_S * 1000,
      });
      projectLatencies.push(...load.latenciesMs);
      projectSeconds += load.elapsedMs / 1000;
      if (Object.keys(load.failures).length) log(`failures: ${JSON.stringify(load.failures)}`);
      log(`concurrency ${concurrency}, round ${round}/${ROUNDS}: pgbench for ${PHASE_S} s`);
      const pg = await runPgbench(stack.databaseUrl, concurrency, PHASE_S);
      baselineLatencies.push(...pg.latencies);
      baselineRows += pg.tps * PHASE_S;
    }
    const project = summary(projectLatencies, projectSeconds);
    const baseline = summary(baselineLatencies, ROUNDS * PHASE_S);
    const pg = { tps: baselineRows / (ROUNDS * PHASE_S) };
    const ratio = project.perSecond / pg.tps;
    const [{ ok }] = await stack.sql`
      select bool_and((select v.ok from private.verify_event_chain(r.id) v)) as ok
      from public.runs r where r.workspace_id = any(${clients.map((c) => c.workspaceId)})`;
    const fmt = (n: number) => n.toFixed(1);
    log(
      `concurrency ${concurrency}: ${fmt(project.perSecond)} events/s ` +
        `(p50 ${fmt(project.p50)} ms, p95 ${fmt(project.p95)} ms, p99 ${fmt(project.p99)} ms) vs ` +
        `pgbench ${fmt(pg.tps)} rows/s (p50 ${fmt(baseline.p50)} ms, p99 ${
          fmt(baseline.p99)
        } ms): ratio ${ratio.toFixed(3)}; chains verify: ${ok}`,
    );
    rows.push({
      what: `signed event ingest, concurrency ${concurrency}`,
      target: `≥ ${TARGET_RATIO} × pgbench`,
      measured: `${fmt(project.perSecond)} events/s (p50 ${fmt(project.p50)} ms, p99 ${
        fmt(project.p99)
      } ms)`,
      baseline: `pgbench ${fmt(pg.tps)} inserts/s (p50 ${fmt(baseline.p50)} ms, p99 ${
        fmt(baseline.p99)
      } ms)`,
      ratio: Math.round(ratio * 1000) / 1000,
      pass: ratio >= TARGET_RATIO && ok === true,
    });
    distributions.push({
      title: `event latency at concurrency ${concurrency}`,
      unit: "ms",
      series: { project: downsample(project.sorted), baseline: downsample(baseline.sorted) },
    });
  } finally {
    await stack.close();
  }
}

const result = {
  name: "ingest",
  command: "node scripts/with_test_db.mjs deno run -A bench/ingest.ts",
  rows,
  distributions,
};
await Deno.mkdir(OUT_DIR, { recursive: true });
await Deno.writeTextFile(`${OUT_DIR}/ingest.json`, JSON.stringify(result, null, 2) + "\n");
log(`wrote ${OUT_DIR}/ingest.json`);
