// A run's timeline with 10 M events stored (docs/contract/targets.md#benchmarks): p99 of "the
// newest 100 events of a run" ≤ 5 ms, served by an index scan with no sort. Baseline: the same
// query with index scans turned off (what the table would cost without events_run_seq_idx).
//   node scripts/with_test_db.mjs deno run -A bench/timeline.ts   (EVENTS=10000000)
import postgres from "postgres";
import { dropDatabase, freshDatabase } from "../tests/_helpers/stack.ts";
import { type BenchRow, progress, writeResult } from "./lib/result.ts";
import { fmt, percentile } from "./lib/stats.ts";

const NAME = "timeline";
const EVENTS = Number(Deno.env.get("EVENTS") ?? 10_000_000);
const HOT_EVENTS = Math.min(200_000, Math.floor(EVENTS / 10));
const PER_RUN = 1_000;
const QUERIES = Number(Deno.env.get("TIMELINE_QUERIES") ?? 2_000);
const BASELINE_QUERIES = Number(Deno.env.get("TIMELINE_BASELINE_QUERIES") ?? 10);
const TARGET_MS = 5;
const TIMELINE = "select * from public.events where run_id = $1 order by seq desc limit 100";

const databaseUrl = await freshDatabase();
const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
try {
  const started = performance.now();
  const runs = Math.max(1, Math.ceil((EVENTS - HOT_EVENTS) / PER_RUN));
  progress(
    NAME,
    `generating ${EVENTS.toLocaleString("en")} events (${runs} runs of ` +
      `${PER_RUN} + one hot run of ${HOT_EVENTS.toLocaleString("en")}) with generate_series`,
  );
  const [ws] = await sql`
    insert into public.workspaces (display_name) values ('Timeline bench') returning id`;
  await sql`
    insert into private.workspace_keys (workspace_id, machine_id, project_fingerprint)
    values (${ws.id}, 'bench', 'timeline')`;
  // Run i's id is a synthetic UUID built from i; the hot run is run 0.
  await sql.unsafe(
    `insert into public.runs (id, workspace_id, provider, last_seq)
     select ('00000000-0000-4000-8000-' || lpad(to_hex(i), 12, '0'))::uuid, $1::uuid, 'bench',
            case when i = 0 then $2::int else $3::int end
     from generate_series(0, $4::int) i`,
    [ws.id, HOT_EVENTS, PER_RUN, runs],
  );
  // Bulk load as a restore would: foreign-key triggers off for the session (the rows are
  // consistent by construction), synthetic ids, seq and hash chain values.
  await sql.unsafe("set session_replication_role = replica");
  // The secondary indexes are dropped for the load and rebuilt after it from their own
  // definitions (pg_get_indexdef), which is how a restore loads a table.
  const indexes = await sql<{ name: string; def: string }[]>`
    select i.relname as name, pg_get_indexdef(i.oid) as def
    from pg_index x join pg_class i on i.oid = x.indexrelid
    where x.indrelid = 'public.events'::regclass and not x.indisprimary`;
  for (const index of indexes) await sql.unsafe(`drop index public."${index.name}"`);
  const insertEvents = (runFrom: number, runTo: number, perRun: number) =>
    sql.unsafe(
      `insert into public.events (id, run_id, workspace_id, seq, type, provider, event_ts,
                                  created_at, payload, prev_hash, hash)
       select ('00000000-0000-4000-8000-' || lpad(to_hex(r::bigint * 1000000 + s), 12, '0'))::uuid,
              ('00000000-0000-4000-8000-' || lpad(to_hex(r), 12, '0'))::uuid, $1::uuid, s,
              case when s = 1 then 'RUN_STARTED' else 'TOOL_USE' end, 'bench',
              now() - make_interval(secs => ($4::int - s)), now(),
              jsonb_build_object('message', 'step ' || s),
              md5(r::text || ':' || (s - 1)::text), md5(r::text || ':' || s::text)
       from generate_series($2::int, $3::int) r, generate_series(1, $4::int) s`,
      [ws.id, runFrom, runTo, perRun],
    );
  await insertEvents(0, 0, HOT_EVENTS);
  const chunk = Math.max(1, Math.floor(1_000_000 / PER_RUN));
  for (let from = 1; from <= runs; from += chunk) {
    const to = Math.min(runs, from + chunk - 1);
    await insertEvents(from, to, PER_RUN);
    const done = HOT_EVENTS + to * PER_RUN;
    progress(
      NAME,
      `  ${done.toLocaleString("en")} events (${
        ((performance.now() - started) / 1000).toFixed(0)
      } s)`,
    );
  }
  await sql.unsafe("set session_replication_role = origin");
  await sql.unsafe("set maintenance_work_mem = '512MB'");
  for (const index of indexes) {
    progress(NAME, `  rebuilding ${index.name}`);
    await sql.unsafe(index.def);
  }
  await sql.unsafe("analyze public.events");
  const [{ count }] = await sql`select count(*)::bigint as count from public.events`;
  const loadSeconds = (performance.now() - started) / 1000;
  progress(
    NAME,
    `loaded ${Number(count).toLocaleString("en")} events in ${loadSeconds.toFixed(0)} s`,
  );

  const hotRun = "00000000-0000-4000-8000-000000000000";
  const plan = (await sql.unsafe(`explain (analyze, buffers) ${TIMELINE}`, [hotRun]))
    .map((r) => r["QUERY PLAN"]).join("\n");
  const indexScan = /Index Scan Backward using events_run_seq_idx/.test(plan);
  const noSort = !/\bSort\b/.test(plan);
  progress(NAME, `plan:\n${plan}`);

  // Client-side latency over one connection (the round trip the functions pay), for the
  // hot run and for random ordinary runs.
  // 200 unmeasured queries first: the client's JIT and the connection warm up.
  for (let i = 0; i < 200; i++) await sql.unsafe(TIMELINE, [hotRun]);
  const project: number[] = [];
  for (let i = 0; i < QUERIES; i++) {
    const runId = i % 2 === 0
      ? hotRun
      : `00000000-0000-4000-8000-${
        (1 + Math.floor(Math.random() * runs)).toString(16).padStart(12, "0")
      }`;
    const t0 = performance.now();
    const rows = await sql.unsafe(TIMELINE, [runId]);
    project.push(performance.now() - t0);
    if (rows.length !== 100) throw new Error(`expected 100 events, got ${rows.length}`);
  }
  progress(
    NAME,
    `indexed: p50 ${fmt(percentile(project, 50), "ms")}, p99 ${fmt(percentile(project, 99), "ms")}`,
  );

  // The server's own execution time (EXPLAIN ANALYZE), without the client round trip and
  // the scheduling noise of a shared machine.
  const server: number[] = [];
  for (let i = 0; i < 200; i++) {
    const runId = i % 2 === 0
      ? hotRun
      : `00000000-0000-4000-8000-${
        (1 + Math.floor(Math.random() * runs)).toString(16).padStart(12, "0")
      }`;
    const lines = (await sql.unsafe(`explain (analyze, format json) ${TIMELINE}`, [runId]))[0][
      "QUERY PLAN"
    ];
    const planned = (typeof lines === "string" ? JSON.parse(lines) : lines) as Array<
      { "Execution Time": number; "Planning Time": number }
    >;
    server.push(planned[0]["Execution Time"] + planned[0]["Planning Time"]);
  }

  await sql.unsafe("set enable_indexscan = off");
  await sql.unsafe("set enable_bitmapscan = off");
  const basePlan = (await sql.unsafe(`explain ${TIMELINE}`, [hotRun]))
    .map((r) => r["QUERY PLAN"]).join("\n");
  const baseline: number[] = [];
  for (let i = 0; i < BASELINE_QUERIES; i++) {
    const t0 = performance.now();
    await sql.unsafe(TIMELINE, [hotRun]);
    baseline.push(performance.now() - t0);
    progress(
      NAME,
      `without the index: query ${i + 1}/${BASELINE_QUERIES} ${fmt(baseline[i], "ms")}`,
    );
  }
  await sql.unsafe("reset enable_indexscan; reset enable_bitmapscan").catch(() => {});

  const p99 = percentile(project, 99);
  const baseP99 = percentile(baseline, 99);
  const rows: BenchRow[] = [
    {
      what: `newest 100 events of a run, ${
        Number(count).toLocaleString("en")
      } events stored (p99 of ${QUERIES})`,
      target: `p99 ≤ ${TARGET_MS} ms`,
      measured: `p99 ${fmt(p99, "ms")} (p50 ${fmt(percentile(project, 50), "ms")})`,
      baseline: `p99 ${fmt(baseP99, "ms")} without the index (${BASELINE_QUERIES} queries)`,
      ratio: p99 / baseP99,
      pass: p99 <= TARGET_MS,
    },
    {
      what: "the same, server-side planning + execution (EXPLAIN ANALYZE, p99 of 200)",
      target: `p99 ≤ ${TARGET_MS} ms`,
      measured: `p99 ${fmt(percentile(server, 99), "ms")} (p50 ${
        fmt(percentile(server, 50), "ms")
      })`,
      baseline: "–",
      ratio: null,
      pass: percentile(server, 99) <= TARGET_MS,
    },
    {
      what: "its plan: an index scan, no sort",
      target: "Index Scan Backward using events_run_seq_idx, no Sort",
      measured: `${indexScan ? "index scan" : "NO index scan"}, ${noSort ? "no sort" : "A SORT"}`,
      baseline: basePlan.split("\n").find((l) =>
        /Scan/.test(l)
      )?.replace(/\s*\(.*$/, "").replace(/^[\s>-]+/, "") ??
        "seq scan",
      ratio: null,
      pass: indexScan && noSort,
    },
  ];
  const path = await writeResult({
    name: NAME,
    command: "node scripts/with_test_db.mjs deno run -A bench/timeline.ts",
    rows,
    distributions: [{
      title: `Newest 100 events of a run (${Number(count).toLocaleString("en")} events stored)`,
      unit: "ms",
      series: { project, baseline },
    }],
    notes: [
      `Generated with generate_series in ${loadSeconds.toFixed(0)} s: ${runs} runs of ` +
      `${PER_RUN} events and one hot run of ${HOT_EVENTS.toLocaleString("en")}; foreign-key ` +
      `triggers off for the load (session_replication_role = replica), ordered synthetic ` +
      `ids and seq/hash values, the secondary indexes dropped for the load and rebuilt ` +
      `from their own definitions (pg_get_indexdef) after it, as a restore does. ` +
      `EVENTS=<n> scales it.`,
      `Query: \`${TIMELINE}\` through postgres.js (prepare: false, as the functions use it), ` +
      `half on the hot run, half on random runs (after 200 unmeasured ones); latency is ` +
      `the client's round trip.`,
      `Baseline: the same query with enable_indexscan and enable_bitmapscan off (a ` +
      `parallel sequential scan and top-N sort), ${BASELINE_QUERIES} queries on the hot run.`,
      "Plan of the indexed query (EXPLAIN ANALYZE, hot run):\n\n```\n" + plan + "\n```",
    ],
  });
  progress(NAME, `wrote ${path}`);
} finally {
  await sql.end({ timeout: 1 });
  await dropDatabase(databaseUrl);
}
