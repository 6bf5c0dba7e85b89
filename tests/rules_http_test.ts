// Rules from the phone (issue 15), over real HTTP against a real Postgres: remember on a
// decision, the mobile rules API, the bridge fetch with its ETag / 304, the cap, the
// timeline events, and tenant isolation.
import { assert, assertEquals } from "./_helpers/assert.ts";
import { bridgeFetch, fetchJson, type Json, mintUserToken, startStack } from "./_helpers/stack.ts";
import { randomDevice } from "./_helpers/fixtures.ts";
import { decideApproval, pairedWorkspace, requestApproval } from "./_helpers/approvals.ts";

type Stack = Awaited<ReturnType<typeof startStack>>;

function mobile(
  stack: Stack,
  token: string,
  method: "GET" | "POST" | "PUT",
  path: string,
  body?: Json,
) {
  return fetchJson(`${stack.functionsUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function workspaceEvents(stack: Stack, workspaceId: string): Promise<Json[]> {
  return await stack.sql`select type, payload from public.events
    where workspace_id = ${workspaceId} and run_id is null order by seq`;
}

Deno.test("approving with remember makes a rule in the same transaction and answers its id", async () => {
  const stack = await startStack();
  try {
    const ws = await pairedWorkspace(stack.sql);
    const req = await requestApproval(stack, ws, { command: "cd app && npm run test -- --ci" });
    assertEquals(req.status, 201);
    const decided = await decideApproval(stack, ws.token, req.body.approval_id, {
      decision: "APPROVE",
      remember: { match: "prefix", prefix: "npm  run test" },
    });
    assertEquals(decided.status, 200, JSON.stringify(decided.body));
    assertEquals(decided.body.status, "APPROVED");
    assert(decided.body.rule_id);
    const [rule] = await stack.sql`select * from public.rules where id = ${decided.body.rule_id}`;
    assertEquals(rule.effect, "allow");
    assertEquals(rule.match, "prefix");
    assertEquals(rule.value, "npm run test");
    assertEquals(rule.words, [["npm", "run", "test"]]);
    assertEquals(rule.source_approval_id, req.body.approval_id);
    assertEquals(rule.created_by_device_id, ws.deviceId);
    const hours = (rule.expires_at.getTime() - rule.created_at.getTime()) / 3600_000;
    assertEquals(Math.round(hours), 24);
    // The same decision repeated answers the same rule; no second one.
    const again = await decideApproval(stack, ws.token, req.body.approval_id, {
      decision: "APPROVE",
      remember: { match: "prefix", prefix: "npm run test" },
    });
    assertEquals(again.status, 200);
    assertEquals(again.body.rule_id, decided.body.rule_id);
    const [{ n }] = await stack.sql`select count(*)::int as n from public.rules`;
    assertEquals(n, 1);
    const events = await workspaceEvents(stack, ws.workspaceId);
    assertEquals(events.filter((e) => e.type === "RULE_CREATED").length, 1);
    assertEquals(events.find((e) => e.type === "RULE_CREATED").payload.rule_id, rule.id);

    // DENY with remember exact makes a deny rule of the normalized command.
    const req2 = await requestApproval(stack, ws, { command: "FOO=1 /bin/rm  -rf dist" });
    const denied = await decideApproval(stack, ws.token, req2.body.approval_id, {
      decision: "DENY",
      remember: { match: "exact", expires_in_seconds: 3600 },
    });
    assertEquals(denied.status, 200, JSON.stringify(denied.body));
    const [deny] = await stack.sql`select * from public.rules where id = ${denied.body.rule_id}`;
    assertEquals([deny.effect, deny.match, deny.value], ["deny", "exact", "rm -rf dist"]);
  } finally {
    await stack.close();
  }
});

Deno.test("a remember the approval's command does not support is 400 and decides nothing", async () => {
  const stack = await startStack();
  try {
    const ws = await pairedWorkspace(stack.sql);
    const req = await requestApproval(stack, ws, { command: "npm run test" });
    for (
      const remember of [
        { match: "prefix", prefix: "npm run build" },
        { match: "prefix", prefix: "npm run test --watch" },
        { match: "prefix", prefix: "npm; ls" },
        { match: "prefix" },
        { match: "exact", prefix: "npm" },
        { match: "exact", expires_in_seconds: 59 },
        { match: "exact", expires_in_seconds: 7776001 },
        { match: "glob" },
      ]
    ) {
      const out = await decideApproval(stack, ws.token, req.body.approval_id, {
        decision: "APPROVE",
        remember,
      });
      assertEquals(out.status, 400, JSON.stringify(remember));
      assertEquals(out.body.error.code, "invalid_request");
    }
    const [a] = await stack
      .sql`select status from public.approvals where id = ${req.body.approval_id}`;
    assertEquals(a.status, "PENDING");
    const [{ n }] = await stack.sql`select count(*)::int as n from public.rules`;
    assertEquals(n, 0);
    // An unparseable command cannot be remembered exactly.
    const odd = await requestApproval(stack, ws, { command: "echo $(rm -rf x)" });
    const out = await decideApproval(stack, ws.token, odd.body.approval_id, {
      decision: "APPROVE",
      remember: { match: "exact" },
    });
    assertEquals(out.status, 400);
  } finally {
    await stack.close();
  }
});

Deno.test("mobile-rules makes, lists (newest first) and revokes rules, on the workspace timeline", async () => {
  const stack = await startStack();
  try {
    const ws = await pairedWorkspace(stack.sql);
    const made = await mobile(stack, ws.token, "POST", "/mobile-rules", {
      workspace_id: ws.workspaceId,
      effect: "allow",
      match: "prefix",
      value: "git status",
      note: "read-only anyway",
    });
    assertEquals(made.status, 201, JSON.stringify(made.body));
    assertEquals(made.body.words, [["git", "status"]]);
    assertEquals(made.body.created_by_device_id, ws.deviceId);
    const second = await mobile(stack, ws.token, "POST", "/mobile-rules", {
      workspace_id: ws.workspaceId,
      effect: "deny",
      match: "exact",
      value: "git push --force",
      expires_in_seconds: 60,
    });
    assertEquals(second.status, 201);
    const list = await mobile(
      stack,
      ws.token,
      "GET",
      `/mobile-rules?workspace_id=${ws.workspaceId}`,
    );
    assertEquals(list.status, 200);
    assertEquals(list.body.rules.map((r: Json) => r.rule_id), [
      second.body.rule_id,
      made.body.rule_id,
    ]);
    const revoked = await mobile(
      stack,
      ws.token,
      "POST",
      `/mobile-rule-revoke/${made.body.rule_id}`,
    );
    assertEquals(revoked.status, 200);
    assert(revoked.body.revoked_at);
    const twice = await mobile(stack, ws.token, "POST", `/mobile-rule-revoke/${made.body.rule_id}`);
    assertEquals(twice.status, 200);
    const after = await mobile(
      stack,
      ws.token,
      "GET",
      `/mobile-rules?workspace_id=${ws.workspaceId}`,
    );
    assertEquals(after.body.rules.map((r: Json) => r.rule_id), [second.body.rule_id]);
    // An expired rule is not listed either.
    await stack.sql`update public.rules set expires_at = now() - interval '1 second'
                    where id = ${second.body.rule_id}`;
    const none = await mobile(
      stack,
      ws.token,
      "GET",
      `/mobile-rules?workspace_id=${ws.workspaceId}`,
    );
    assertEquals(none.body.rules, []);
    const types = (await workspaceEvents(stack, ws.workspaceId)).map((e) => e.type);
    assertEquals(types, ["RULE_CREATED", "RULE_CREATED", "RULE_REVOKED"]);
    const bad = await mobile(stack, ws.token, "PUT", "/mobile-rules");
    assertEquals(bad.status, 405);
    assertEquals(bad.headers.get("allow"), "POST, GET");
  } finally {
    await stack.close();
  }
});

Deno.test("another user's workspace and rules are not_found, and their rules never reach this runner", async () => {
  const stack = await startStack();
  try {
    const a = await pairedWorkspace(stack.sql);
    const b = await pairedWorkspace(stack.sql);
    const bRule = await mobile(stack, b.token, "POST", "/mobile-rules", {
      workspace_id: b.workspaceId,
      effect: "allow",
      match: "prefix",
      value: "make",
    });
    assertEquals(bRule.status, 201);
    const steal = await mobile(stack, a.token, "POST", "/mobile-rules", {
      workspace_id: b.workspaceId,
      effect: "allow",
      match: "prefix",
      value: "make",
    });
    assertEquals([steal.status, steal.body.error.code], [404, "not_found"]);
    const peek = await mobile(stack, a.token, "GET", `/mobile-rules?workspace_id=${b.workspaceId}`);
    assertEquals(peek.status, 404);
    const revoke = await mobile(
      stack,
      a.token,
      "POST",
      `/mobile-rule-revoke/${bRule.body.rule_id}`,
    );
    assertEquals(revoke.status, 404);
    const [r] = await stack
      .sql`select revoked_at from public.rules where id = ${bRule.body.rule_id}`;
    assertEquals(r.revoked_at, null);
    const fetched = await bridgeFetch(stack, a, "GET", "/bridge-rules");
    assertEquals((await fetched.json()).rules, []);
    // A user with no device anywhere sees nothing either.
    const stranger = await mintUserToken(crypto.randomUUID());
    const s = await mobile(stack, stranger, "GET", `/mobile-rules?workspace_id=${a.workspaceId}`);
    assertEquals(s.status, 404);
  } finally {
    await stack.close();
  }
});

Deno.test("bridge-rules answers the active set with an ETag, and 304 without a body while it holds", async () => {
  const stack = await startStack();
  try {
    const ws = await pairedWorkspace(stack.sql);
    const first = await bridgeFetch(stack, ws, "GET", "/bridge-rules");
    assertEquals(first.status, 200);
    const etag = first.headers.get("etag")!;
    const body = await first.json();
    assertEquals(etag, `"${body.version}"`);
    assertEquals(body.rules, []);
    const same = await bridgeFetch(stack, ws, "GET", "/bridge-rules", undefined, {
      headers: { "if-none-match": etag },
    });
    assertEquals(same.status, 304);
    assertEquals(await same.text(), "");
    assertEquals(same.headers.get("etag"), etag);
    assert(same.headers.get("x-request-id"));
    const made = await mobile(stack, ws.token, "POST", "/mobile-rules", {
      workspace_id: ws.workspaceId,
      effect: "allow",
      match: "exact",
      value: "npm test",
      expires_in_seconds: 60,
    });
    const changed = await bridgeFetch(stack, ws, "GET", "/bridge-rules", undefined, {
      headers: { "if-none-match": etag },
    });
    assertEquals(changed.status, 200);
    const next = await changed.json();
    assertEquals(next.rules.map((r: Json) => r.rule_id), [made.body.rule_id]);
    assert(changed.headers.get("etag") !== etag);
    // Expiry changes the version too.
    await stack.sql`update public.rules set expires_at = now() - interval '1 second'`;
    const expired = await bridgeFetch(stack, ws, "GET", "/bridge-rules", undefined, {
      headers: { "if-none-match": changed.headers.get("etag")! },
    });
    assertEquals(expired.status, 200);
    assertEquals((await expired.json()).rules, []);
    assertEquals(expired.headers.get("etag"), etag);
  } finally {
    await stack.close();
  }
});

Deno.test("a workspace holds at most 200 active rules: the 201st is 409 and writes nothing", async () => {
  const stack = await startStack();
  try {
    const ws = await pairedWorkspace(stack.sql);
    await stack.sql`
      insert into public.rules (workspace_id, effect, match, value, words, created_by_user_id, expires_at)
      select ${ws.workspaceId}, 'allow', 'exact', 'cmd' || i, jsonb_build_array(jsonb_build_array('cmd' || i)),
             ${ws.userId}, now() + interval '1 hour'
      from generate_series(1, 200) i`;
    const body = {
      workspace_id: ws.workspaceId,
      effect: "allow",
      match: "exact",
      value: "one more",
    };
    const refused = await mobile(stack, ws.token, "POST", "/mobile-rules", body);
    assertEquals([refused.status, refused.body.error.code], [409, "conflict"]);
    // remember on a decision is refused the same way, and the decision with it.
    const req = await requestApproval(stack, ws, { command: "make" });
    const decided = await decideApproval(stack, ws.token, req.body.approval_id, {
      decision: "APPROVE",
      remember: { match: "exact" },
    });
    assertEquals(decided.status, 409);
    const [a] = await stack
      .sql`select status from public.approvals where id = ${req.body.approval_id}`;
    assertEquals(a.status, "PENDING");
    // Revoking one makes room.
    const [one] = await stack.sql`select id from public.rules limit 1`;
    await mobile(stack, ws.token, "POST", `/mobile-rule-revoke/${one.id}`);
    assertEquals((await mobile(stack, ws.token, "POST", "/mobile-rules", body)).status, 201);
    const [{ n }] = await stack.sql`select count(*)::int as n from public.rules
      where workspace_id = ${ws.workspaceId} and revoked_at is null`;
    assertEquals(n, 200);
  } finally {
    await stack.close();
  }
});

Deno.test("a user with two devices in the workspace names the one making the rule", async () => {
  const stack = await startStack();
  try {
    const ws = await pairedWorkspace(stack.sql);
    const tablet = await randomDevice(stack.sql, {
      userId: ws.userId,
      workspaceId: ws.workspaceId,
    });
    const body = { workspace_id: ws.workspaceId, effect: "deny", match: "prefix", value: "rm" };
    const unnamed = await mobile(stack, ws.token, "POST", "/mobile-rules", body);
    assertEquals(unnamed.status, 400);
    const named = await mobile(stack, ws.token, "POST", "/mobile-rules", {
      ...body,
      device_id: tablet.deviceId,
    });
    assertEquals(named.status, 201);
    assertEquals(named.body.created_by_device_id, tablet.deviceId);
  } finally {
    await stack.close();
  }
});
