// bridge-event (docs/contract/api.md#bridge-event): idempotency on event_id, the run created by
// its first event, and the run status rules, over real HTTP against a real database.
import { assert, assertEquals } from "./_helpers/assert.ts";
import { type Stack, startStack } from "./_helpers/stack.ts";
import { randomDevice, randomWorkspace, type TestWorkspace } from "./_helpers/fixtures.ts";
import { eventBody, postEvent, writtenRows } from "./_helpers/events.ts";

async function withStack(
  fn: (stack: Stack, ws: TestWorkspace) => Promise<void>,
  env: Record<string, string> = {},
): Promise<void> {
  const stack = await startStack({
    env: { RATE_LIMIT_EVENTS_PER_MINUTE: "10000", RATE_LIMIT_EVENTS_PER_HOUR: "10000", ...env },
  });
  try {
    await fn(stack, await randomWorkspace(stack.sql));
  } finally {
    await stack.close();
  }
}

async function runRow(stack: Stack, runId: string) {
  const [run] = await stack.sql`select * from public.runs where id = ${runId}`;
  return run;
}

Deno.test("the first event creates the run and the stored event keeps what was sent", async () => {
  await withStack(async (stack, ws) => {
    const body = eventBody(ws.workspaceId, {
      event_type: "SESSION_STARTED",
      provider: "cursor",
      provider_run_id: "conv-123",
      event_ts: "2026-11-25T10:00:00.123Z",
      payload: { message: "hello", nested: { a: [1, 2, { b: null }] }, unicode: "✓ 'quoted' --" },
    });
    const res = await postEvent(stack, ws, body);
    assertEquals(res.status, 202);
    assertEquals(Object.keys(res.body).sort(), ["duplicate", "event_id", "run_id", "run_status"]);
    assertEquals(res.body.run_id, body.run_id);
    assertEquals(res.body.run_status, "RUNNING");
    assertEquals(res.body.duplicate, false);
    const run = await runRow(stack, body.run_id);
    assertEquals(run.workspace_id, ws.workspaceId);
    assertEquals(run.provider, "cursor");
    assertEquals(run.provider_run_id, "conv-123");
    assertEquals(run.last_message, "hello");
    const [event] = await stack.sql`select * from public.events where id = ${res.body.event_id}`;
    assertEquals(event.run_id, body.run_id);
    assertEquals(event.workspace_id, ws.workspaceId);
    assertEquals(event.seq, 1);
    assertEquals(event.type, "SESSION_STARTED");
    assertEquals(event.provider, "cursor");
    assertEquals(event.event_ts.toISOString(), "2026-11-25T10:00:00.123Z");
    assertEquals(event.payload, body.payload);
  });
});

Deno.test("a retry with a new nonce stores nothing twice and answers duplicate: true", async () => {
  await withStack(async (stack, ws) => {
    const body = eventBody(ws.workspaceId, { event_id: crypto.randomUUID() });
    const first = await postEvent(stack, ws, body);
    assertEquals(first.status, 202);
    assertEquals(first.body.event_id, body.event_id);
    assertEquals(first.body.duplicate, false);
    const before = await writtenRows(stack.sql);
    for (let i = 0; i < 3; i++) {
      const retry = await postEvent(stack, ws, body);
      assertEquals(retry.status, 202);
      assertEquals(retry.body, { ...first.body, duplicate: true });
    }
    const after = await writtenRows(stack.sql);
    assertEquals(after, { ...before, nonces: before.nonces + 3 }, "only the nonces are new");
  });
});

Deno.test("a retry that names another run answers the stored event and creates no run", async () => {
  await withStack(async (stack, ws) => {
    const body = eventBody(ws.workspaceId, { event_id: crypto.randomUUID() });
    const first = await postEvent(stack, ws, body);
    const retry = await postEvent(stack, ws, { ...body, run_id: crypto.randomUUID() });
    assertEquals(retry.status, 202);
    assertEquals(retry.body, { ...first.body, duplicate: true });
    const [{ count }] = await stack.sql`select count(*)::int from public.runs`;
    assertEquals(count, 1);
  });
});

Deno.test("a duplicate answers the run's current status", async () => {
  await withStack(async (stack, ws) => {
    const started = eventBody(ws.workspaceId, {
      event_type: "RUN_STARTED",
      event_id: crypto.randomUUID(),
    });
    assertEquals((await postEvent(stack, ws, started)).body.run_status, "RUNNING");
    const done = eventBody(ws.workspaceId, { run_id: started.run_id, event_type: "RUN_COMPLETED" });
    assertEquals((await postEvent(stack, ws, done)).body.run_status, "COMPLETED");
    const retry = await postEvent(stack, ws, started);
    assertEquals(retry.body.duplicate, true);
    assertEquals(retry.body.run_status, "COMPLETED");
  });
});

Deno.test("50 concurrent copies of one event with different nonces store it exactly once", async () => {
  await withStack(async (stack, ws) => {
    const body = eventBody(ws.workspaceId, { event_id: crypto.randomUUID() });
    const results = await Promise.all(
      Array.from({ length: 50 }, () => postEvent(stack, ws, body)),
    );
    assertEquals(results.map((r) => r.status), Array(50).fill(202));
    assertEquals(results.filter((r) => r.body.duplicate === false).length, 1);
    assertEquals(results.filter((r) => r.body.duplicate === true).length, 49);
    for (const r of results) assertEquals(r.body.event_id, body.event_id);
    const [{ count }] = await stack.sql`select count(*)::int from public.events`;
    assertEquals(count, 1);
    const run = await runRow(stack, body.run_id);
    assertEquals(run.last_seq, 1);
  });
});

Deno.test("an event_id or run_id used by another workspace is a conflict that writes nothing", async () => {
  await withStack(async (stack, ws) => {
    const other = await randomWorkspace(stack.sql);
    const theirs = eventBody(other.workspaceId, { event_id: crypto.randomUUID() });
    assertEquals((await postEvent(stack, other, theirs)).status, 202);
    const before = await writtenRows(stack.sql);
    const sameEventId = await postEvent(
      stack,
      ws,
      eventBody(ws.workspaceId, { event_id: theirs.event_id }),
    );
    assertEquals(sameEventId.status, 409);
    assertEquals(sameEventId.body.error.code, "conflict");
    const sameRunId = await postEvent(
      stack,
      ws,
      eventBody(ws.workspaceId, { run_id: theirs.run_id }),
    );
    assertEquals(sameRunId.status, 409);
    assertEquals(sameRunId.body.error.code, "conflict");
    assertEquals(await writtenRows(stack.sql), before);
  });
});

Deno.test("each run event moves a running run to its status", async () => {
  await withStack(async (stack, ws) => {
    const cases: [string, string][] = [
      ["RUN_STARTED", "RUNNING"],
      ["TOOL_USED", "RUNNING"],
      ["SOMETHING_NEW", "RUNNING"],
      ["RUN_COMPLETED", "COMPLETED"],
      ["RUN_FAILED", "FAILED"],
      ["RUN_STOPPED", "STOPPED"],
    ];
    for (const [type, expected] of cases) {
      const start = eventBody(ws.workspaceId, { event_type: "RUN_STARTED" });
      await postEvent(stack, ws, start);
      const res = await postEvent(
        stack,
        ws,
        eventBody(ws.workspaceId, { run_id: start.run_id, event_type: type }),
      );
      assertEquals(res.body.run_status, expected, type);
      const run = await runRow(stack, start.run_id);
      assertEquals(run.status, expected, type);
      assertEquals(run.ended_at !== null, expected !== "RUNNING", `${type}: ended_at`);
    }
  });
});

Deno.test("terminal states are never left by late or out-of-order events", async () => {
  await withStack(async (stack, ws) => {
    for (const terminal of ["RUN_COMPLETED", "RUN_FAILED", "RUN_STOPPED"]) {
      const runId = crypto.randomUUID();
      const end = await postEvent(
        stack,
        ws,
        eventBody(ws.workspaceId, {
          run_id: runId,
          event_type: terminal,
          payload: { message: "the end" },
        }),
      );
      const status = end.body.run_status;
      assert(status !== "RUNNING", terminal);
      const { ended_at: endedAt } = await runRow(stack, runId);
      for (
        const late of ["RUN_STARTED", "TOOL_USED", "RUN_COMPLETED", "RUN_FAILED", "RUN_STOPPED"]
      ) {
        const res = await postEvent(
          stack,
          ws,
          eventBody(ws.workspaceId, {
            run_id: runId,
            event_type: late,
            event_ts: "2020-01-01T00:00:00Z",
            payload: { message: `late ${late}` },
          }),
        );
        assertEquals(res.status, 202);
        assertEquals(res.body.run_status, status, `${terminal} then ${late}`);
      }
      const run = await runRow(stack, runId);
      assertEquals(run.status, status);
      assertEquals(run.ended_at, endedAt, "ended_at is kept");
      assertEquals(run.last_message, "the end", "a terminal run keeps its last message");
      assertEquals(run.last_seq, 6, "late events are still on the timeline");
    }
  });
});

Deno.test("a run's end queues one push per paired device, once, and delivery is kicked", async () => {
  await withStack(async (stack, ws) => {
    await randomDevice(stack.sql, { workspaceId: ws.workspaceId });
    await randomDevice(stack.sql, { workspaceId: ws.workspaceId, platform: "ios" });
    let kicks = 0;
    stack.deps.push.deliverSoon = () => {
      kicks++;
    };
    const start = eventBody(ws.workspaceId, { event_type: "RUN_STARTED" });
    await postEvent(stack, ws, start);
    assertEquals(kicks, 0);
    await postEvent(
      stack,
      ws,
      eventBody(ws.workspaceId, {
        run_id: start.run_id,
        event_type: "RUN_FAILED",
        payload: { message: "tests failed" },
      }),
    );
    assertEquals(kicks, 1);
    await postEvent(
      stack,
      ws,
      eventBody(ws.workspaceId, { run_id: start.run_id, event_type: "RUN_COMPLETED" }),
    );
    assertEquals(kicks, 1, "a late end queues nothing");
    const rows = await stack.sql`select kind, run_id, message from private.push_outbox`;
    assertEquals(rows.length, 2);
    for (const row of rows) {
      assertEquals(row.kind, "run");
      assertEquals(row.run_id, start.run_id);
      assertEquals(row.message.title, `${ws.displayName} · run failed`);
      assertEquals(row.message.body, "tests failed");
      assertEquals(row.message.data.status, "FAILED");
    }
  });
});

Deno.test("payload.message becomes last_message, cut to 500 characters", async () => {
  await withStack(async (stack, ws) => {
    const runId = crypto.randomUUID();
    const long = "é".repeat(600);
    await postEvent(
      stack,
      ws,
      eventBody(ws.workspaceId, { run_id: runId, payload: { message: long } }),
    );
    assertEquals((await runRow(stack, runId)).last_message, "é".repeat(500));
    await postEvent(
      stack,
      ws,
      eventBody(ws.workspaceId, { run_id: runId, payload: { message: 42 } }),
    );
    assertEquals((await runRow(stack, runId)).last_message, "é".repeat(500), "not a string: kept");
    await postEvent(stack, ws, eventBody(ws.workspaceId, { run_id: runId, payload: {} }));
    assertEquals((await runRow(stack, runId)).last_message, "é".repeat(500), "absent: kept");
    const before = (await runRow(stack, runId)).last_event_at;
    await postEvent(
      stack,
      ws,
      eventBody(ws.workspaceId, { run_id: runId, payload: { message: "new" } }),
    );
    const run = await runRow(stack, runId);
    assertEquals(run.last_message, "new");
    assert(run.last_event_at >= before, "last_event_at moves forward");
  });
});
