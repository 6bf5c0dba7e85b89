// The races of docs/contract/targets.md#races at the contract's own counts: 1,000 concurrent copies
// of one signed request → exactly one accepted; 100 concurrent decisions on one approval →
// exactly one wins. (The endpoint suites race smaller counts; these are the targets.)
import { assert, assertEquals } from "./_helpers/assert.ts";
import { type Json, mintUserToken, startStack } from "./_helpers/stack.ts";
import { randomDevice, randomWorkspace } from "./_helpers/fixtures.ts";
import { signedHeaders } from "../shared/signing.ts";

async function settle(responses: Promise<Response>[]): Promise<{ status: number; body: Json }[]> {
  return await Promise.all(responses.map(async (p) => {
    const res = await p;
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  }));
}

Deno.test("1,000 concurrent copies of one signed request: exactly one accepted, the rest replayed_nonce, no 5xx", async () => {
  const stack = await startStack({
    env: { RATE_LIMIT_EVENTS_PER_MINUTE: "100000", RATE_LIMIT_EVENTS_PER_HOUR: "100000" },
  });
  try {
    const ws = await randomWorkspace(stack.sql);
    const body = JSON.stringify({
      workspace_id: ws.workspaceId,
      run_id: crypto.randomUUID(),
      provider: "claude-code",
      event_type: "RUN_STARTED",
      event_ts: new Date().toISOString(),
      payload: { message: "once" },
    });
    const headers = await signedHeaders({
      workspaceId: ws.workspaceId,
      secret: ws.secret,
      method: "POST",
      path: "/bridge-event",
      body,
    });
    headers["content-type"] = "application/json";
    const results = await settle(
      Array.from(
        { length: 1000 },
        () => fetch(`${stack.functionsUrl}/bridge-event`, { method: "POST", headers, body }),
      ),
    );
    const statuses = results.map((r) => r.status);
    assertEquals(statuses.filter((s) => s >= 500).length, 0, "no 5xx");
    assertEquals(statuses.filter((s) => s === 202).length, 1, "exactly one accepted");
    assertEquals(
      results.filter((r) => r.status === 401 && r.body.error.code === "replayed_nonce").length,
      999,
    );
    const [{ count }] = await stack.sql`select count(*)::int from public.events`;
    assertEquals(count, 1);
  } finally {
    await stack.close();
  }
});

Deno.test("100 concurrent decisions on one approval: exactly one wins, the others see it", async () => {
  const stack = await startStack();
  try {
    const ws = await randomWorkspace(stack.sql);
    const { userId } = await randomDevice(stack.sql, { workspaceId: ws.workspaceId });
    const runId = crypto.randomUUID();
    await stack.sql`insert into public.runs (id, workspace_id, provider)
                    values (${runId}, ${ws.workspaceId}, 'claude-code')`;
    const [approval] = await stack.sql`
      insert into public.approvals (run_id, workspace_id, command, expires_at)
      values (${runId}, ${ws.workspaceId}, 'git push --force', now() + interval '10 minutes')
      returning id`;
    const token = await mintUserToken(userId);
    const decisions = Array.from({ length: 100 }, (_, i) => (i % 2 ? "APPROVE" : "DENY"));
    const results = await settle(
      decisions.map((decision) =>
        fetch(`${stack.functionsUrl}/mobile-approval-decision/${approval.id}`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: JSON.stringify({ decision, note: `${decision} wins` }),
        })
      ),
    );
    assertEquals(results.filter((r) => r.status >= 500).length, 0, "no 5xx");
    const [row] = await stack
      .sql`select status, note from public.approvals where id = ${approval.id}`;
    assert(row.status === "APPROVED" || row.status === "DENIED", `stored ${row.status}`);
    const winner = row.status === "APPROVED" ? "APPROVE" : "DENY";
    results.forEach((r, i) => {
      if (decisions[i] === winner) {
        assertEquals(r.status, 200, `the winning decision, repeated, is answered 200`);
        assertEquals(r.body.status, row.status);
        assertEquals(r.body.note, row.note);
      } else {
        assertEquals(r.status, 409, "the losing decision is refused");
        assertEquals(r.body.error.code, "already_decided");
      }
    });
    const [{ decided }] = await stack.sql`
      select count(*)::int as decided from public.events
      where run_id = ${runId} and type = 'APPROVAL_DECIDED'`;
    assertEquals(decided, 1, "one APPROVAL_DECIDED on the timeline");
  } finally {
    await stack.close();
  }
});
