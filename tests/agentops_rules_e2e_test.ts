// End to end (issue 15): rules made on the phone decide commands in the real hook runner
// (`agentops hook claude-code` as a subprocess) without a phone request, and the stand-in
// phone makes, lists and revokes them. The runner's refresh interval is set to 0 s (every
// hook revalidates with If-None-Match), so no assertion depends on timing.
import { assert, assertEquals } from "./_helpers/assert.ts";
import { fetchJson, type Json, startStack } from "./_helpers/stack.ts";
import { randomDevice, randomWorkspace } from "./_helpers/fixtures.ts";
import { decideApproval, eventually } from "./_helpers/approvals.ts";
import { hookPayload, runCli, runHookCli, testProject } from "./_helpers/agentops.ts";
import { toRunId } from "../client/run_id.ts";
import { mintUserToken } from "./_helpers/stack.ts";

const EVERYTHING_ASKS = { require_approval: ["*"] };

async function setup(refresh = "0") {
  const stack = await startStack();
  const ws = await randomWorkspace(stack.sql);
  const { userId, deviceId } = await randomDevice(stack.sql, { workspaceId: ws.workspaceId });
  const project = await testProject(stack, ws, { policy: EVERYTHING_ASKS });
  project.env.AGENTOPS_RULES_REFRESH_SECONDS = refresh;
  const token = await mintUserToken(userId);
  const session = `s-${crypto.randomUUID()}`;
  const phoneEnv = { AGENTOPS_PHONE_STATE: `${project.dir}/phone.json` };
  await Deno.writeTextFile(phoneEnv.AGENTOPS_PHONE_STATE, JSON.stringify({ user_id: userId }));
  async function hook(command: string) {
    return await runHookCli(
      project,
      "claude-code",
      await hookPayload("claude-code-pretooluse-bash", {
        session_id: session,
        tool_use_id: `toolu_${crypto.randomUUID().slice(0, 8)}`,
        tool_input: { command },
      }),
    );
  }
  async function approvals(): Promise<Json[]> {
    return await stack.sql`select id, command, status from public.approvals
      where workspace_id = ${ws.workspaceId} order by requested_at`;
  }
  /** Runs a hook that must ask the phone; decides it with `body` once it is pending. */
  async function hookAsking(command: string, body: Record<string, unknown>) {
    const before = (await approvals()).length;
    const running = hook(command);
    let id = "";
    await eventually(
      async () => {
        const rows = await approvals();
        id = rows.length > before ? rows[rows.length - 1].id : "";
        return id !== "";
      },
      `the approval of ${command}`,
      60_000,
    );
    const decided = await decideApproval(stack, token, id, body);
    assertEquals(decided.status, 200, JSON.stringify(decided.body));
    return { out: await running, decided: decided.body };
  }
  async function rule(body: Record<string, unknown>): Promise<Json> {
    const res = await fetchJson(`${stack.functionsUrl}/mobile-rules`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ workspace_id: ws.workspaceId, ...body }),
    });
    assertEquals(res.status, 201, JSON.stringify(res.body));
    return res.body;
  }
  return {
    stack,
    ws,
    deviceId,
    project,
    phoneEnv,
    runId: await toRunId("claude-code", session),
    hook,
    hookAsking,
    approvals,
    rule,
    token,
    async close() {
      await project.close();
      await stack.close();
    },
  };
}

function decision(out: { json: Json | null }): string | undefined {
  return out.json?.hookSpecificOutput?.permissionDecision;
}

Deno.test("approve with remember: the same command then runs without asking, one outside the prefix still asks", async () => {
  const t = await setup();
  try {
    const first = await t.hookAsking("npm run test -- --ci", {
      decision: "APPROVE",
      remember: { match: "prefix", prefix: "npm run test" },
    });
    assertEquals(decision(first.out), "allow", first.out.stdout);
    const ruleId = first.decided.rule_id;
    assert(ruleId);

    const again = await t.hook("npm run test -- --ci");
    assertEquals(decision(again), "allow", again.stdout + again.stderr);
    assert(again.json.hookSpecificOutput.permissionDecisionReason.includes(ruleId));
    const longer = await t.hook("npm  run test --watch");
    assertEquals(decision(longer), "allow");
    assertEquals((await t.approvals()).length, 1, "no phone request for the remembered prefix");

    const [applied] = await t.stack.sql`select payload from public.events
      where run_id = ${t.runId} and type = 'RULE_APPLIED' order by seq limit 1`;
    assertEquals(applied.payload.rule_id, ruleId);
    assertEquals(applied.payload.effect, "allow");
    assertEquals(applied.payload.command, "npm run test -- --ci");
    assertEquals(applied.payload.rule_created_by_device_id, t.deviceId);

    // Outside the prefix (another script, or a compound with an unruled part) asks.
    const build = await t.hookAsking("npm run build", { decision: "DENY" });
    assertEquals(decision(build.out), "deny");
    const compound = await t.hookAsking("npm run test && curl https://x.sh", {
      decision: "DENY",
    });
    assertEquals(decision(compound.out), "deny");
    assertEquals((await t.approvals()).length, 3);
  } finally {
    await t.close();
  }
});

Deno.test("a deny rule beats an allow, and revoke and expiry take effect at the next refresh", async () => {
  const t = await setup();
  try {
    const allowGit = await t.rule({ effect: "allow", match: "prefix", value: "git" });
    await t.rule({ effect: "deny", match: "prefix", value: "git push --force" });
    assertEquals(decision(await t.hook("git status")), "allow");
    const forced = await t.hook("git status && git push --force origin main");
    assertEquals(decision(forced), "deny", forced.stdout);
    assertEquals((await t.approvals()).length, 0);

    // Revoked: asks again.
    const revoked = await fetchJson(
      `${t.stack.functionsUrl}/mobile-rule-revoke/${allowGit.rule_id}`,
      {
        method: "POST",
        headers: { authorization: `Bearer ${t.token}` },
      },
    );
    assertEquals(revoked.status, 200);
    const asked = await t.hookAsking("git status", { decision: "APPROVE" });
    assertEquals(decision(asked.out), "allow");
    assertEquals((await t.approvals()).length, 1);

    // Expired: asks again.
    await t.rule({ effect: "allow", match: "exact", value: "make", expires_in_seconds: 60 });
    assertEquals(decision(await t.hook("make")), "allow");
    await t.stack.sql`update public.rules set expires_at = now() - interval '1 second'
                      where value = 'make'`;
    const expired = await t.hookAsking("make", { decision: "DENY" });
    assertEquals(decision(expired.out), "deny");
    assertEquals((await t.approvals()).length, 2);
  } finally {
    await t.close();
  }
});

Deno.test("within the refresh interval the runner uses its cache; a phone decision refreshes it at once", async () => {
  const t = await setup("3600");
  try {
    const made = await t.rule({ effect: "allow", match: "exact", value: "make" });
    // The first hook has no cache: it fetches.
    assertEquals(decision(await t.hook("make")), "allow");
    const cache = JSON.parse(await Deno.readTextFile(`${t.project.dir}/.agentops/rules.json`));
    assertEquals(cache.rules.map((r: Json) => r.rule_id), [made.rule_id]);
    // Revoked on the server, still in force here until the cache is refreshed.
    await t.stack.sql`update public.rules set revoked_at = now() where id = ${made.rule_id}`;
    assertEquals(decision(await t.hook("make")), "allow");
    assertEquals((await t.approvals()).length, 0);
    // A rule remembered on the phone is used by the very next hook despite the hour.
    const asked = await t.hookAsking("make test", {
      decision: "APPROVE",
      remember: { match: "exact" },
    });
    assertEquals(decision(asked.out), "allow");
    assertEquals(decision(await t.hook("make test")), "allow");
    assertEquals((await t.approvals()).length, 1);
    // ...and that refresh also dropped the revoked rule.
    const cached = JSON.parse(await Deno.readTextFile(`${t.project.dir}/.agentops/rules.json`));
    assertEquals(cached.rules.length, 1);
    assertEquals(cached.rules[0].value, "make test");
  } finally {
    await t.close();
  }
});

Deno.test("agentops phone allow, rules and revoke manage the workspace's rules", async () => {
  const t = await setup();
  try {
    const made = await runCli(t.project, ["phone", "allow", "deno", "task", "ok"], {
      env: t.phoneEnv,
    });
    assertEquals(made.code, 0, made.stderr);
    assertEquals(made.json?.value, "deno task ok");
    assertEquals(made.json?.match, "prefix");
    const listed = await runCli(t.project, ["phone", "rules"], { env: t.phoneEnv });
    assert(listed.stdout.includes(made.json.rule_id), listed.stdout);
    assert(/allow\s+prefix/.test(listed.stdout), listed.stdout);
    assertEquals(decision(await t.hook("deno task ok --quiet")), "allow");
    const revoked = await runCli(t.project, ["phone", "revoke", made.json.rule_id], {
      env: t.phoneEnv,
    });
    assertEquals(revoked.code, 0, revoked.stderr);
    assert(revoked.json?.revoked_at);
    const empty = await runCli(t.project, ["phone", "rules"], { env: t.phoneEnv });
    assertEquals(empty.stdout, "No active rules.");
    // A stranger's phone sees none of it.
    const strangerEnv = { AGENTOPS_PHONE_STATE: `${t.project.dir}/stranger.json` };
    const stranger = await runCli(t.project, ["phone", "rules"], { env: strangerEnv });
    assert(stranger.code !== 0);
    assert(stranger.stderr.includes("not_found"), stranger.stderr);
    const types = (await t.stack.sql`select type from public.events
      where workspace_id = ${t.ws.workspaceId} and run_id is null order by seq`)
      .map((e) => e.type);
    assertEquals(types, ["RULE_CREATED", "RULE_REVOKED"]);
  } finally {
    await t.close();
  }
});
