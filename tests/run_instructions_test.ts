// Instructions from the phone (docs/contract/api.md#instructions) over real HTTP and a real
// database: queue (mobile auth), collect (bridge auth), exactly-once delivery, isolation, bad
// input.
import * as v from "valibot";
import { assert, assertEquals } from "./_helpers/assert.ts";
import {
  bridgeFetch,
  clearOfRateWindowEdge,
  fetchJson,
  mintUserToken,
  type Stack,
  startStack,
} from "./_helpers/stack.ts";
import { randomDevice, randomWorkspace, type TestWorkspace } from "./_helpers/fixtures.ts";
import { RunInstructionResponse, RunInstructionsResponse } from "../shared/api_schemas.ts";

interface Setup {
  stack: Stack;
  ws: TestWorkspace;
  userId: string;
  token: string;
  runId: string;
}

/** Runs `fn` with a fresh stack, a paired workspace and a run, closing the stack after. */
async function withSetup(
  env: Record<string, string> | undefined,
  fn: (s: Setup) => Promise<void>,
): Promise<void> {
  const s = await setup(env);
  try {
    await fn(s);
  } finally {
    await s.stack.close();
  }
}

/** A refused request wrote nothing: no instruction, no event. */
async function assertNothingWritten(s: Setup): Promise<void> {
  const [{ n, e }] = await s.stack.sql`
    select (select count(*)::int from public.run_instructions) as n,
           (select count(*)::int from public.events) as e`;
  assertEquals([n, e], [0, 0], "instructions and events written");
}

async function setup(env?: Record<string, string>): Promise<Setup> {
  const stack = await startStack({ env });
  const ws = await randomWorkspace(stack.sql);
  const { userId } = await randomDevice(stack.sql, { workspaceId: ws.workspaceId });
  const runId = crypto.randomUUID();
  await stack.sql`select private.ensure_run(${ws.workspaceId}, ${runId}, 'claude-code', null)`;
  return { stack, ws, userId, token: await mintUserToken(userId), runId };
}

function queue(s: Setup, text: unknown, options: { runId?: string; token?: string } = {}) {
  return fetchJson(`${s.stack.functionsUrl}/mobile-run-instruction/${options.runId ?? s.runId}`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${options.token ?? s.token}`,
      "content-type": "application/json",
    },
    body: JSON.stringify({ text }),
  });
}

async function collect(s: Setup, runId = s.runId, ws: TestWorkspace = s.ws) {
  const res = await bridgeFetch(s.stack, ws, "GET", `/bridge-run-instructions/${runId}`);
  return { status: res.status, body: await res.json() };
}

Deno.test("a queued instruction is collected once, oldest first, and both ends are on the timeline", () =>
  withSetup(undefined, async (s) => {
    const first = await queue(s, "Run the tests before pushing");
    assertEquals(first.status, 201);
    v.parse(RunInstructionResponse, first.body);
    assertEquals(first.body.status, "QUEUED");
    assertEquals(first.body.run_id, s.runId);
    const second = await queue(s, "  Then update the changelog  ");
    assertEquals(second.status, 201);

    const got = await collect(s);
    assertEquals(got.status, 200);
    v.parse(RunInstructionsResponse, got.body);
    assertEquals(got.body.instructions.map((i: { text: string }) => i.text), [
      "Run the tests before pushing",
      "Then update the changelog",
    ]);
    assertEquals(got.body.instructions[0].instruction_id, first.body.instruction_id);

    const again = await collect(s);
    assertEquals(again.body.instructions, []);

    const events = await s.stack.sql`
      select type, payload from public.events where run_id = ${s.runId} order by seq`;
    assertEquals(events.map((e) => e.type), [
      "INSTRUCTION_QUEUED",
      "INSTRUCTION_QUEUED",
      "INSTRUCTION_DELIVERED",
      "INSTRUCTION_DELIVERED",
    ]);
    assertEquals(events[2].payload.instruction_id, first.body.instruction_id);
    const [chain] = await s.stack.sql`select * from private.verify_event_chain(${s.runId})`;
    assertEquals(chain.ok, true);
    const rows = await s.stack.sql`
      select delivered_at from public.run_instructions where run_id = ${s.runId}`;
    assert(rows.every((r) => r.delivered_at !== null));
  }));

Deno.test("concurrent collectors never both get the same instruction", () =>
  withSetup({ RATE_LIMIT_INSTRUCTIONS_PER_MINUTE: "100" }, async (s) => {
    for (let i = 0; i < 20; i++) assertEquals((await queue(s, `instruction ${i}`)).status, 201);
    const results = await Promise.all(Array.from({ length: 10 }, () => collect(s)));
    const ids: string[] = [];
    for (const r of results) {
      assertEquals(r.status, 200);
      for (const i of r.body.instructions) ids.push(i.instruction_id);
    }
    assertEquals(ids.length, 20);
    assertEquals(new Set(ids).size, 20);
    const [{ n }] = await s.stack.sql`
      select count(*)::int as n from public.events
      where run_id = ${s.runId} and type = 'INSTRUCTION_DELIVERED'`;
    assertEquals(n, 20);
  }));

Deno.test("another user's run and another workspace's run are not_found and nothing is written", () =>
  withSetup(undefined, async (s) => {
    const stranger = await mintUserToken(crypto.randomUUID());
    const refused = await queue(s, "hello", { token: stranger });
    assertEquals(refused.status, 404);
    assertEquals(refused.body.error.code, "not_found");
    assertEquals((await queue(s, "hello", { runId: crypto.randomUUID() })).status, 404);

    const other = await randomWorkspace(s.stack.sql);
    const otherRun = await collect(s, s.runId, other);
    assertEquals(otherRun.status, 404);
    assertEquals(otherRun.body.error.code, "not_found");
    await assertNothingWritten(s);
  }));

Deno.test("a refused collect leaves its nonce unused", () =>
  withSetup(undefined, async (s) => {
    const nonce = "nonce-refused-collect-1";
    const missing = await bridgeFetch(
      s.stack,
      s.ws,
      "GET",
      `/bridge-run-instructions/${crypto.randomUUID()}`,
      undefined,
      { nonce },
    );
    assertEquals(missing.status, 404);
    await missing.body?.cancel();
    const ok = await bridgeFetch(
      s.stack,
      s.ws,
      "GET",
      `/bridge-run-instructions/${s.runId}`,
      undefined,
      { nonce },
    );
    assertEquals(ok.status, 200);
    await ok.body?.cancel();
  }));

Deno.test("queueing is rate-limited per user with Retry-After", () =>
  withSetup({ RATE_LIMIT_INSTRUCTIONS_PER_MINUTE: "2" }, async (s) => {
    await clearOfRateWindowEdge();
    assertEquals((await queue(s, "one")).status, 201);
    assertEquals((await queue(s, "two")).status, 201);
    const third = await queue(s, "three");
    assertEquals(third.status, 429);
    assertEquals(third.body.error.code, "rate_limited");
    assert(Number(third.headers.get("retry-after")) >= 1);
    const [{ n }] = await s.stack.sql`select count(*)::int as n from public.run_instructions`;
    assertEquals(n, 2);
  }));

Deno.test("bad input to the instruction endpoints gets the contract's 4xx and writes nothing", () =>
  withSetup(undefined, async (s) => {
    const url = `${s.stack.functionsUrl}/mobile-run-instruction/${s.runId}`;
    const auth = { authorization: `Bearer ${s.token}`, "content-type": "application/json" };
    const cases: [RequestInit & { url?: string }, number, string][] = [
      [{ method: "POST", headers: auth, body: "{" }, 400, "invalid_json"],
      [{ method: "POST", headers: auth, body: "{}" }, 400, "invalid_request"],
      [
        { method: "POST", headers: auth, body: JSON.stringify({ text: "" }) },
        400,
        "invalid_request",
      ],
      [
        { method: "POST", headers: auth, body: JSON.stringify({ text: "   " }) },
        400,
        "invalid_request",
      ],
      [
        { method: "POST", headers: auth, body: JSON.stringify({ text: "x".repeat(4001) }) },
        400,
        "invalid_request",
      ],
      [
        { method: "POST", headers: auth, body: JSON.stringify({ text: 42 }) },
        400,
        "invalid_request",
      ],
      [
        { method: "POST", headers: auth, body: JSON.stringify({ text: "hi", run_id: s.runId }) },
        400,
        "invalid_request",
      ],
      [{ method: "POST", headers: auth, body: JSON.stringify([]) }, 400, "invalid_request"],
      [
        { method: "POST", headers: { ...auth, "content-type": "text/plain" }, body: "{}" },
        415,
        "unsupported_media_type",
      ],
      [
        { method: "POST", headers: { "content-type": "application/json" }, body: '{"text":"x"}' },
        401,
        "unauthorized",
      ],
      [
        {
          method: "POST",
          headers: { ...auth, authorization: "Bearer not-a-jwt" },
          body: '{"text":"x"}',
        },
        401,
        "unauthorized",
      ],
      [{ method: "GET", headers: auth }, 405, "method_not_allowed"],
      [
        {
          method: "POST",
          headers: auth,
          body: JSON.stringify({ text: "x".repeat(70_000) }),
        },
        413,
        "payload_too_large",
      ],
      [
        {
          url: `${s.stack.functionsUrl}/mobile-run-instruction/not-a-uuid`,
          method: "POST",
          headers: auth,
          body: '{"text":"x"}',
        },
        404,
        "not_found",
      ],
      [
        {
          method: "POST",
          headers: auth,
          body: JSON.stringify({ text: "'); drop table public.runs; --" }),
          url: `${s.stack.functionsUrl}/mobile-run-instruction/${crypto.randomUUID()}`,
        },
        404,
        "not_found",
      ],
    ];
    for (const [init, status, code] of cases) {
      const res = await fetchJson(init.url ?? url, init);
      assertEquals([res.status, res.body?.error?.code], [status, code], JSON.stringify(init.body));
    }

    const bridgeCases: [Promise<Response>, number, string][] = [
      [
        fetch(`${s.stack.functionsUrl}/bridge-run-instructions/${s.runId}`),
        401,
        "unauthorized",
      ],
      [
        bridgeFetch(s.stack, s.ws, "GET", `/bridge-run-instructions/${s.runId}`, undefined, {
          timestamp: Date.now() - 10 * 60_000,
        }),
        401,
        "signature_expired",
      ],
      [
        bridgeFetch(
          s.stack,
          { ...s.ws, secret: "wrong" },
          "GET",
          `/bridge-run-instructions/${s.runId}`,
        ),
        401,
        "unauthorized",
      ],
      [
        bridgeFetch(s.stack, s.ws, "POST", `/bridge-run-instructions/${s.runId}`, {}),
        405,
        "method_not_allowed",
      ],
      [bridgeFetch(s.stack, s.ws, "GET", `/bridge-run-instructions/xyz`), 404, "not_found"],
    ];
    for (const [pending, status, code] of bridgeCases) {
      const res = await pending;
      const body = await res.json();
      assertEquals([res.status, body.error?.code], [status, code]);
    }
    const replay = { nonce: "replayed-nonce-instr-1" };
    const once = await bridgeFetch(
      s.stack,
      s.ws,
      "GET",
      `/bridge-run-instructions/${s.runId}`,
      undefined,
      replay,
    );
    assertEquals(once.status, 200);
    await once.body?.cancel();
    const twice = await bridgeFetch(
      s.stack,
      s.ws,
      "GET",
      `/bridge-run-instructions/${s.runId}`,
      undefined,
      replay,
    );
    assertEquals([twice.status, (await twice.json()).error.code], [401, "replayed_nonce"]);

    await assertNothingWritten(s);
  }));

Deno.test("the phone reads its runs' instructions and whether each was delivered, under RLS", () =>
  withSetup(undefined, async (s) => {
    await queue(s, "look at the failing test");
    await collect(s);
    await queue(s, "and then stop");
    const read = (userId: string) =>
      s.stack.sql.begin(async (tx) => {
        await tx`select set_config('request.jwt.claims', ${
          JSON.stringify({ sub: userId, role: "authenticated" })
        }, true)`;
        await tx`set local role authenticated`;
        return await tx`select text, delivered_at is not null as delivered
                        from public.run_instructions order by created_at`;
      });
    const mine = await read(s.userId);
    assertEquals(mine.map((r) => [r.text, r.delivered]), [
      ["look at the failing test", true],
      ["and then stop", false],
    ]);
    assertEquals((await read(crypto.randomUUID())).length, 0);
  }));
