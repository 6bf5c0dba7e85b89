// The SDK against the running stack: retries after a failed attempt carry a fresh nonce
// and the same event_id / request_key, so nothing is stored twice; the wait loop returns
// the decision.
import { assert, assertEquals } from "./_helpers/assert.ts";
import { type Stack, startStack } from "./_helpers/stack.ts";
import { randomDevice, randomWorkspace } from "./_helpers/fixtures.ts";
import { decideApproval } from "./_helpers/approvals.ts";
import { mintUserToken } from "./_helpers/stack.ts";
import { AgentOpsClient, ApiError } from "../client/sdk.ts";

/** A proxy in front of the stack that answers the first `failFirst` requests with 503 (or
 * drops them after forwarding: the request was stored but the answer lost) and records
 * every nonce it saw. */
function flakyProxy(stack: Stack, options: { failFirst: number; loseAnswer?: boolean }) {
  const nonces: string[] = [];
  let seen = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    nonces.push(req.headers.get("x-nonce") ?? "");
    const url = new URL(req.url);
    const forward = () =>
      fetch(`${stack.baseUrl}${url.pathname}${url.search}`, {
        method: req.method,
        headers: req.headers,
        body: req.method === "POST" ? req.body : undefined,
      });
    if (seen++ < options.failFirst) {
      if (options.loseAnswer) await (await forward()).body?.cancel();
      return new Response(
        JSON.stringify({ error: { code: "unavailable", message: "try again" } }),
        { status: 503, headers: { "retry-after": "0", "content-type": "application/json" } },
      );
    }
    return await forward();
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/functions/v1`,
    nonces,
    close: () => server.shutdown(),
  };
}

Deno.test("a retried event keeps its event_id with a fresh nonce, and is stored once", async () => {
  const stack = await startStack();
  const proxy = flakyProxy(stack, { failFirst: 2, loseAnswer: true });
  try {
    const ws = await randomWorkspace(stack.sql);
    const client = new AgentOpsClient({
      baseUrl: proxy.url,
      workspaceId: ws.workspaceId,
      secret: ws.secret,
      retry: { baseDelayMs: 1 },
    });
    const eventId = crypto.randomUUID();
    const runId = crypto.randomUUID();
    const out = await client.sendEvent({
      run_id: runId,
      provider: "claude-code",
      event_type: "RUN_STARTED",
      event_ts: new Date().toISOString(),
      payload: {},
      event_id: eventId,
    });
    assertEquals(out.event_id, eventId);
    assertEquals(out.duplicate, true);
    assertEquals(proxy.nonces.length, 3);
    assertEquals(new Set(proxy.nonces).size, 3);
    const rows = await stack.sql`select id from public.events where run_id = ${runId}`;
    assertEquals(rows.map((r) => r.id), [eventId]);
  } finally {
    await proxy.close();
    await stack.close();
  }
});

Deno.test("a retried approval request keeps its request_key; the wait loop returns the decision and note", async () => {
  const stack = await startStack();
  const proxy = flakyProxy(stack, { failFirst: 1, loseAnswer: true });
  try {
    const ws = await randomWorkspace(stack.sql);
    const { userId } = await randomDevice(stack.sql, { workspaceId: ws.workspaceId });
    const client = new AgentOpsClient({
      baseUrl: proxy.url,
      workspaceId: ws.workspaceId,
      secret: ws.secret,
      retry: { baseDelayMs: 1 },
    });
    const created = await client.requestApproval({
      run_id: crypto.randomUUID(),
      command: "git push --force",
      cwd: "/repo",
      request_key: "toolu_sdk_retry",
    });
    const [{ n }] = await stack.sql`select count(*)::int as n from public.approvals`;
    assertEquals(n, 1);
    const waiting = client.waitForApproval(created.approval_id, {
      deadline: Date.now() + 60_000,
      maxPollSeconds: 30,
    });
    const decided = await decideApproval(stack, await mintUserToken(userId), created.approval_id, {
      decision: "DENY",
      note: "not on main",
    });
    assertEquals(decided.status, 200);
    const state = await waiting;
    assertEquals([state.status, state.note], ["DENIED", "not on main"]);
  } finally {
    await proxy.close();
    await stack.close();
  }
});

Deno.test("a 4xx is not retried and surfaces as an ApiError with the API's code", async () => {
  const stack = await startStack();
  const proxy = flakyProxy(stack, { failFirst: 0 });
  try {
    const ws = await randomWorkspace(stack.sql);
    const client = new AgentOpsClient({
      baseUrl: proxy.url,
      workspaceId: ws.workspaceId,
      secret: "not-the-secret",
    });
    let error: unknown;
    try {
      await client.collectInstructions(crypto.randomUUID());
    } catch (e) {
      error = e;
    }
    assert(error instanceof ApiError);
    assertEquals([error.status, error.code], [401, "unauthorized"]);
    assertEquals(proxy.nonces.length, 1);
  } finally {
    await proxy.close();
    await stack.close();
  }
});
