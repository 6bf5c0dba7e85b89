// The timeline (docs/contract/data-model.md#hash-chain): a gap-free seq and a hash chain per run
// under concurrency, one table for bridge and backend events, a verifier that names the first
// bad row, and plans that read a timeline or a workspace's recent runs from an index with
// no sort.
import { assert, assertEquals } from "./_helpers/assert.ts";
import { type Stack, startStack } from "./_helpers/stack.ts";
import { randomDevice, randomWorkspace } from "./_helpers/fixtures.ts";
import { eventBody, postEvent } from "./_helpers/events.ts";
import { type ChainRow, verifyChain as verifyChainIndependently } from "../shared/event_chain.ts";
import type postgres from "postgres";

async function withStack(fn: (stack: Stack) => Promise<void>): Promise<void> {
  const stack = await startStack({
    env: { RATE_LIMIT_EVENTS_PER_MINUTE: "10000", RATE_LIMIT_EVENTS_PER_HOUR: "10000" },
  });
  try {
    await fn(stack);
  } finally {
    await stack.close();
  }
}

async function verifyChain(sql: postgres.Sql, runId: string) {
  const [row] = await sql`select * from private.verify_event_chain(${runId})`;
  return row;
}

Deno.test("200 concurrent events on one run get seq 1..200 and a chain that verifies", async () => {
  await withStack(async (stack) => {
    const ws = await randomWorkspace(stack.sql);
    const runId = crypto.randomUUID();
    assertEquals(
      (await postEvent(stack, ws, eventBody(ws.workspaceId, { run_id: runId }))).status,
      202,
    );
    // 180 more bridge events and 19 backend events (as approvals write them), all at once
    const bridge = Array.from({ length: 180 }, (_, i) =>
      postEvent(
        stack,
        ws,
        eventBody(ws.workspaceId, { run_id: runId, payload: { i, message: `step ${i}` } }),
      ));
    const backend = Array.from(
      { length: 19 },
      (_, i) =>
        stack.deps.sql`select private.append_event(${ws.workspaceId}, ${runId},
        'APPROVAL_REQUESTED', ${stack.deps.sql.json({ i })}) as e`,
    );
    const results = await Promise.all(bridge);
    await Promise.all(backend);
    assertEquals(results.filter((r) => r.status !== 202).length, 0);
    const seqs = await stack.sql`select seq from public.events where run_id = ${runId}
                                 order by seq`;
    assertEquals(seqs.map((r) => r.seq), Array.from({ length: 200 }, (_, i) => i + 1));
    const [{ types }] = await stack.sql`select count(distinct type)::int as types
                                        from public.events where run_id = ${runId}`;
    assertEquals(types, 2, "bridge and backend events share the run's timeline");
    const verdict = await verifyChain(stack.sql, runId);
    assertEquals(verdict.ok, true);
    assertEquals(verdict.checked, 200);
    const [run] = await stack.sql`select last_seq, last_hash from public.runs where id = ${runId}`;
    const [last] = await stack.sql`select hash from public.events
                                   where run_id = ${runId} and seq = 200`;
    assertEquals(run.last_seq, 200);
    assertEquals(run.last_hash, last.hash);
  });
});

Deno.test("ingested events hash as the independent verifier (shared/event_chain.ts) recomputes them", async () => {
  // private.event_hash and its helpers may be rewritten for speed; the digest may not change
  await withStack(async (stack) => {
    const ws = await randomWorkspace(stack.sql);
    const runId = crypto.randomUUID();
    const bodies = [
      eventBody(ws.workspaceId, { run_id: runId, payload: { message: "héllo", n: [1, 2.5] } }),
      eventBody(ws.workspaceId, { run_id: runId, event_type: "RUN_COMPLETED", payload: {} }),
      eventBody(ws.workspaceId, { run_id: runId, payload: { after: "end" } }),
    ];
    for (const body of bodies) assertEquals((await postEvent(stack, ws, body)).status, 202);
    const rows = await stack.sql<ChainRow[]>`
      select id, seq, type, payload::text as payload, prev_hash, hash,
             to_char(event_ts at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as event_ts,
             to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as created_at
      from public.events where run_id = ${runId} order by seq`;
    const [run] = await stack.sql`select last_seq, last_hash, status from public.runs
                                  where id = ${runId}`;
    assertEquals(run.status, "COMPLETED");
    const report = await verifyChainIndependently([...rows], {
      head: { seq: run.last_seq, hash: run.last_hash },
    });
    assertEquals(report, { ...report, ok: true, checked: 3 });
  });
});

Deno.test("verify_event_chain() names the first tampered, missing or relinked row", async () => {
  await withStack(async (stack) => {
    const ws = await randomWorkspace(stack.sql);
    const runId = crypto.randomUUID();
    for (let i = 0; i < 10; i++) {
      await postEvent(stack, ws, eventBody(ws.workspaceId, { run_id: runId, payload: { i } }));
    }
    assertEquals((await verifyChain(stack.sql, runId)).ok, true);
    const eventAt = async (seq: number) =>
      (await stack.sql`select * from public.events where run_id = ${runId} and seq = ${seq}`)[0];

    const seven = await eventAt(7);
    await stack.sql`update public.events set payload = '{"i": 700}' where id = ${seven.id}`;
    let verdict = await verifyChain(stack.sql, runId);
    assertEquals([verdict.ok, verdict.first_bad_seq, verdict.first_bad_event_id], [
      false,
      7,
      seven.id,
    ]);
    assertEquals(verdict.reason, "hash does not match the row");
    await stack.sql`update public.events set payload = ${seven.payload} where id = ${seven.id}`;
    assertEquals((await verifyChain(stack.sql, runId)).ok, true, "restored");

    // a rewritten row whose own hash is recomputed still breaks the next link
    const four = await eventAt(4);
    await stack.sql`update public.events set type = 'RUN_COMPLETED',
      hash = private.event_hash(prev_hash, seq, 'RUN_COMPLETED', event_ts, created_at, payload)
      where id = ${four.id}`;
    verdict = await verifyChain(stack.sql, runId);
    assertEquals([verdict.ok, verdict.first_bad_seq], [false, 5]);
    assertEquals(verdict.reason, "prev_hash does not match the previous row");
    await stack.sql`update public.events set type = ${four.type}, hash = ${four.hash}
                    where id = ${four.id}`;

    await stack.sql`delete from public.events where run_id = ${runId} and seq = 3`;
    verdict = await verifyChain(stack.sql, runId);
    assertEquals([verdict.ok, verdict.first_bad_seq], [false, 4]);
    assertEquals(verdict.reason, "seq 4 follows 2");
  });
});

/** Every node of an EXPLAIN (FORMAT JSON) plan. */
function planNodes(plan: Record<string, unknown>): Record<string, unknown>[] {
  const children = (plan.Plans as Record<string, unknown>[] | undefined) ?? [];
  return [plan, ...children.flatMap(planNodes)];
}

async function explain(
  sql: postgres.Sql | postgres.TransactionSql,
  text: string,
  options = "",
): Promise<Record<string, unknown>[]> {
  const [row] = await sql.unsafe(`explain (format json${options}) ${text}`);
  return planNodes(row["QUERY PLAN"][0].Plan);
}

function assertIndexScanNoSort(nodes: Record<string, unknown>[], index: string, what: string) {
  const types = nodes.map((n) =>
    `${n["Node Type"]}${n["Index Name"] ? `(${n["Index Name"]})` : ""}`
  );
  assert(
    nodes.some((n) => String(n["Node Type"]).startsWith("Index") && n["Index Name"] === index),
    `${what}: expected an index scan on ${index}, got ${types.join(" > ")}`,
  );
  assert(
    !nodes.some((n) => String(n["Node Type"]).includes("Sort")),
    `${what}: expected no sort, got ${types.join(" > ")}`,
  );
}

Deno.test("a run's timeline and a workspace's recent runs are index scans with no sort", async () => {
  await withStack(async (stack) => {
    const sql = stack.sql;
    const [owner] = await sql`select gen_random_uuid() as id`;
    const workspaces = [];
    for (let i = 0; i < 20; i++) workspaces.push(await randomWorkspace(sql));
    const wsIds = workspaces.map((w) => w.workspaceId);
    await randomDevice(sql, { userId: owner.id, workspaceId: wsIds[0] });
    // 20,000 runs over 20 workspaces; 60,000 events over 60 runs
    await sql`
      insert into public.runs (id, workspace_id, provider, last_event_at, last_seq)
      select gen_random_uuid(), (${wsIds}::uuid[])[1 + i % 20], 'bench',
             now() - i * interval '1 second', case when i <= 60 then 1000 else 0 end
      from generate_series(1, 20000) i`;
    await sql`
      insert into public.events (id, run_id, workspace_id, seq, type, event_ts, payload, hash)
      select gen_random_uuid(), r.id, r.workspace_id, s, 'TOOL_USED', now(),
             jsonb_build_object('s', s), md5(s::text)
      from (select id, workspace_id from public.runs where last_seq = 1000) r,
           generate_series(1, 1000) s`;
    await sql`analyze public.runs`;
    await sql`analyze public.events`;
    const [busy] = await sql`select id, workspace_id from public.runs
                             where last_seq = 1000 and workspace_id = ${wsIds[0]} limit 1`;

    const queries = {
      newest: `select id, seq, type, event_ts, payload from public.events
               where run_id = '${busy.id}' order by seq desc limit 100`,
      after: `select id, seq, type, event_ts, payload from public.events
              where run_id = '${busy.id}' and seq > 500 order by seq limit 100`,
      recent: `select id, status, last_event_at, last_message from public.runs
                where workspace_id = '${wsIds[0]}' order by last_event_at desc limit 50`,
    };
    const index = {
      newest: "events_run_seq_idx",
      after: "events_run_seq_idx",
      recent: "runs_workspace_recent_idx",
    };
    for (const [name, text] of Object.entries(queries) as [keyof typeof queries, string][]) {
      assertIndexScanNoSort(await explain(sql, text), index[name], `${name} (literal)`);
      // with parameters: the generic plan a prepared statement gets
      const generic = text.replace(`'${busy.id}'`, "$1").replace(`'${wsIds[0]}'`, "$1")
        .replace("seq > 500", "seq > $2");
      assertIndexScanNoSort(
        await explain(sql, generic, ", generic_plan"),
        index[name],
        `${name} (generic plan)`,
      );
      // as the phone: role authenticated, under RLS
      await sql.begin(async (tx) => {
        await tx`select set_config('request.jwt.claims', ${
          JSON.stringify({
            sub: owner.id,
            role: "authenticated",
          })
        }, true)`;
        await tx`set local role authenticated`;
        const nodes = await explain(tx, text);
        assertIndexScanNoSort(nodes, index[name], `${name} (phone, RLS)`);
        const rows = await tx.unsafe(text);
        assert(rows.length > 0, `${name}: the owner reads rows`);
      });
    }
  });
});
