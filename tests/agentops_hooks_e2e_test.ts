// End to end (docs/contract/hook-runner.md): documented hook payloads (with unknown extra fields)
// piped into `agentops hook …` as a subprocess against the running stack, decided from a
// supabase-js phone; the answer is checked where each agent reads it.
import { assert, assertEquals } from "./_helpers/assert.ts";
import { startStack } from "./_helpers/stack.ts";
import { eventually } from "./_helpers/approvals.ts";
import {
  hookPayload,
  type HookWorld,
  invoke,
  runCli,
  runHookCli,
  testPhone,
  testProject,
  withHookWorld,
} from "./_helpers/agentops.ts";
import { toRunId } from "../client/run_id.ts";

/** The approval the hook made for this request_key, once it exists. */
async function pendingApproval(w: HookWorld, requestKey: string | null): Promise<string> {
  let id = "";
  await eventually(
    async () => {
      const rows = requestKey
        ? await w.stack.sql`select id from public.approvals
                          where workspace_id = ${w.ws.workspaceId} and request_key = ${requestKey}`
        : await w.stack.sql`select id from public.approvals
                          where workspace_id = ${w.ws.workspaceId} and status = 'PENDING'`;
      id = rows[0]?.id ?? "";
      return id !== "";
    },
    "the hook's approval request",
    180_000, // a fresh `deno run` of the CLI: over a minute at load 40+ on 2 cores
  );
  return id;
}

function uniqueToolUse(): string {
  return `toolu_${crypto.randomUUID().replaceAll("-", "")}`;
}

Deno.test("Claude Code PreToolUse: approved on the phone with a note → allow, the note in PostToolUse additionalContext", () =>
  withHookWorld({}, async (w) => {
    const toolUseId = uniqueToolUse();
    const payload = await hookPayload("claude-code-pretooluse-bash", { tool_use_id: toolUseId });
    const hook = runHookCli(w.project, "claude-code", payload);
    const approvalId = await pendingApproval(w, toolUseId);
    const phone = await testPhone(w.stack, w.userId);
    const decided = await invoke(phone, `mobile-approval-decision/${approvalId}`, {
      decision: "APPROVE",
      note: "ok, but keep package-lock.json",
    });
    assertEquals(decided.status, 200);
    const out = await hook;
    assertEquals(out.code, 0, out.stderr);
    const answer = out.json?.hookSpecificOutput;
    assertEquals(answer.hookEventName, "PreToolUse");
    assertEquals(answer.permissionDecision, "allow");
    const after = await runHookCli(
      w.project,
      "claude-code",
      await hookPayload("claude-code-posttooluse-bash", { tool_use_id: toolUseId }),
    );
    assert(
      String(after.json?.hookSpecificOutput?.additionalContext).includes(
        "ok, but keep package-lock.json",
      ),
      after.stdout,
    );
    const [row] = await w.stack.sql`select run_id, command, cwd_hash from public.approvals
                                    where id = ${approvalId}`;
    assertEquals(row.run_id, await toRunId("claude-code", "abc123"));
    assertEquals(row.command, "rm -rf node_modules");
    assert(row.cwd_hash && !String(row.cwd_hash).includes("/home/dev"));
  }));

Deno.test("Claude Code PermissionRequest: denied with a note → behavior deny, note as the message", () =>
  withHookWorld({}, async (w) => {
    const payload = await hookPayload("claude-code-permissionrequest-bash", {
      session_id: `s-${crypto.randomUUID()}`,
    });
    const hook = runHookCli(w.project, "claude-code", payload);
    const approvalId = await pendingApproval(w, null);
    const phone = await testPhone(w.stack, w.userId);
    const decided = await invoke(phone, `mobile-approval-decision/${approvalId}`, {
      decision: "DENY",
      note: "never force-push main; open a PR instead",
    });
    assertEquals(decided.status, 200);
    const out = await hook;
    assertEquals(out.code, 0, out.stderr);
    assertEquals(out.json?.hookSpecificOutput, {
      hookEventName: "PermissionRequest",
      decision: { behavior: "deny", message: "never force-push main; open a PR instead" },
    });
  }));

Deno.test("Cursor beforeShellExecution: denied with a note → permission deny, note in agent_message", () =>
  withHookWorld({}, async (w) => {
    const payload = await hookPayload("cursor-beforeshellexecution", {
      conversation_id: crypto.randomUUID(),
      generation_id: `g-${crypto.randomUUID()}`,
    });
    const hook = runHookCli(w.project, "cursor", payload);
    const approvalId = await pendingApproval(w, null);
    const phone = await testPhone(w.stack, w.userId);
    await invoke(phone, `mobile-approval-decision/${approvalId}`, {
      decision: "DENY",
      note: "bump the version first",
    });
    const out = await hook;
    assertEquals(out.code, 0, out.stderr);
    assertEquals(out.json?.permission, "deny");
    assertEquals(out.json?.agent_message, "bump the version first");
  }));

Deno.test("Codex PermissionRequest: approved → behavior allow in Claude-compatible output", () =>
  withHookWorld({}, async (w) => {
    const payload = await hookPayload("claude-code-permissionrequest-bash", {
      session_id: crypto.randomUUID(),
      tool_input: { command: "git push origin feature" },
    });
    const hook = runHookCli(w.project, "codex", payload);
    const approvalId = await pendingApproval(w, null);
    const phone = await testPhone(w.stack, w.userId);
    await invoke(phone, `mobile-approval-decision/${approvalId}`, { decision: "APPROVE" });
    const out = await hook;
    assertEquals(out.json?.hookSpecificOutput?.decision, { behavior: "allow" });
  }));

Deno.test("nobody decides before the runner's deadline → the timeout fallback (deny), under the host's timeout", () =>
  withHookWorld({}, async (w) => {
    const payload = await hookPayload("claude-code-pretooluse-bash", {
      tool_use_id: uniqueToolUse(),
    });
    // Host timeout 12 s: the runner answers by its own deadline 5 s under it.
    const out = await runHookCli(w.project, "claude-code", payload, {
      timeout: 12,
      env: { AGENTOPS_WAIT_POLL_SECONDS: "2" },
    });
    assertEquals(out.code, 0, out.stderr);
    const answer = out.json?.hookSpecificOutput;
    assertEquals(answer.permissionDecision, "deny");
    assert(
      String(answer.permissionDecisionReason).includes("no decision"),
      answer.permissionDecisionReason,
    );
  }));

Deno.test("an approval that expires undecided → the timeout fallback, naming the expiry", () =>
  withHookWorld({ policy: { fallback: { timeout: "ask" } } }, async (w) => {
    const toolUseId = uniqueToolUse();
    const payload = await hookPayload("claude-code-pretooluse-bash", { tool_use_id: toolUseId });
    const hook = runHookCli(w.project, "claude-code", payload, {
      timeout: 120,
      env: { AGENTOPS_WAIT_POLL_SECONDS: "1" },
    });
    const approvalId = await pendingApproval(w, toolUseId);
    await w.stack.sql`update public.approvals set expires_at = now() - interval '1 second'
                      where id = ${approvalId}`;
    const out = await hook;
    const answer = out.json?.hookSpecificOutput;
    assertEquals(answer.permissionDecision, "ask");
    assert(
      String(answer.permissionDecisionReason).includes("expired"),
      answer.permissionDecisionReason,
    );
  }));

Deno.test("the same PermissionRequest after its approval expired asks the phone again", () =>
  withHookWorld({}, async (w) => {
    const payload = await hookPayload("claude-code-permissionrequest-bash", {
      session_id: `s-${crypto.randomUUID()}`,
    });
    const env = { AGENTOPS_WAIT_POLL_SECONDS: "1" };
    const first = runHookCli(w.project, "claude-code", payload, { timeout: 120, env });
    const expiredId = await pendingApproval(w, null);
    await w.stack.sql`update public.approvals set expires_at = now() - interval '1 second'
                      where id = ${expiredId}`;
    const lapsed = (await first).json?.hookSpecificOutput?.decision;
    assertEquals(lapsed?.behavior, "deny"); // the default timeout fallback
    assert(String(lapsed?.message).includes("expired"), lapsed?.message);
    const second = runHookCli(w.project, "claude-code", payload, { timeout: 120, env });
    let freshId = "";
    await eventually(
      async () => {
        const rows = await w.stack.sql`select id from public.approvals
                                     where workspace_id = ${w.ws.workspaceId}
                                       and id <> ${expiredId}`;
        freshId = rows[0]?.id ?? "";
        return freshId !== "";
      },
      "a new approval for the repeated command",
      60_000,
    );
    const phone = await testPhone(w.stack, w.userId);
    await invoke(phone, `mobile-approval-decision/${freshId}`, { decision: "APPROVE" });
    assertEquals((await second).json?.hookSpecificOutput?.decision, { behavior: "allow" });
  }));

Deno.test("no phone paired → the no-device fallback at once, and nothing left pending", () =>
  withHookWorld({ paired: false, policy: { fallback: { no_device: "deny" } } }, async (w) => {
    const out = await runHookCli(
      w.project,
      "cursor",
      await hookPayload("cursor-beforeshellexecution", { conversation_id: crypto.randomUUID() }),
    );
    assertEquals(out.code, 0, out.stderr);
    assertEquals(out.json?.permission, "deny");
    assert(String(out.json?.user_message).includes("no phone is paired"));
    const [{ n }] = await w.stack.sql`select count(*)::int as n from public.approvals`;
    assertEquals(n, 0);
  }));

Deno.test("an unpaired project answers the no-device fallback without calling the backend", async () => {
  const stack = await startStack();
  const project = await testProject(stack, null);
  try {
    const out = await runHookCli(
      project,
      "claude-code",
      await hookPayload("claude-code-pretooluse-bash"),
    );
    assertEquals(out.json?.hookSpecificOutput?.permissionDecision, "ask");
  } finally {
    await project.close();
    await stack.close();
  }
});

Deno.test("commands outside the policy are not sent to the phone", () =>
  withHookWorld({ policy: { unknown_commands: "allow" } }, async (w) => {
    const claude = await runHookCli(
      w.project,
      "claude-code",
      await hookPayload("claude-code-pretooluse-bash", { tool_input: { command: "npm test" } }),
    );
    assertEquals([claude.code, claude.stdout], [0, ""]);
    const cursor = await runHookCli(
      w.project,
      "cursor",
      await hookPayload("cursor-beforeshellexecution", { command: "ls -la" }),
    );
    assertEquals(cursor.json, { permission: "allow" });
    const [{ n }] = await w.stack.sql`select count(*)::int as n from public.approvals`;
    assertEquals(n, 0);
  }));

Deno.test("empty stdin from Cursor makes the hook step aside: {} and nothing written", () =>
  withHookWorld({}, async (w) => {
    for (const stdin of ["", "   \n"]) {
      const out = await runCli(w.project, ["hook", "cursor"], { stdin });
      assertEquals([out.code, out.json], [0, {}]);
    }
    const [{ n }] = await w.stack.sql`select count(*)::int as n from public.approvals`;
    assertEquals(n, 0);
  }));

Deno.test("session hooks become run events, and the run's status and push follow them", () =>
  withHookWorld({}, async (w) => {
    const session = `s-${crypto.randomUUID()}`;
    const runId = await toRunId("claude-code", session);
    for (
      const name of ["claude-code-sessionstart", "claude-code-notification", "claude-code-stop"]
    ) {
      const out = await runHookCli(
        w.project,
        "claude-code",
        await hookPayload(name, { session_id: session }),
      );
      assertEquals([out.code, out.stdout], [0, ""], name);
    }
    const events = await w.stack.sql`select type, payload from public.events
                                     where run_id = ${runId} order by seq`;
    assertEquals(events.map((e) => e.type), ["RUN_STARTED", "NOTIFICATION", "RUN_COMPLETED"]);
    assertEquals(events[1].payload.message, "Claude needs your permission to use Bash");
    const [run] = await w.stack.sql`select status, last_message, provider_run_id
                                    from public.runs where id = ${runId}`;
    assertEquals([run.status, run.last_message, run.provider_run_id], [
      "COMPLETED",
      "All tests pass.",
      session,
    ]);
    const pushes = await w.stack.sql`select kind from private.push_outbox where run_id = ${runId}`;
    assert(pushes.some((p) => p.kind === "run"));
  }));

Deno.test("backend down: the unreachable fallback, events queued on disk and delivered once it is back", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const deadUrl = `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}/functions/v1`;
  listener.close();
  await withHookWorld({ policy: { fallback: { unreachable: "deny" } } }, async (w) => {
    const down = { AGENTOPS_URL: deadUrl };
    const session = `s-${crypto.randomUUID()}`;
    const runId = await toRunId("claude-code", session);
    const start = await runHookCli(
      w.project,
      "claude-code",
      await hookPayload("claude-code-sessionstart", { session_id: session }),
      { env: down },
    );
    assertEquals(start.code, 0);
    const approval = await runHookCli(
      w.project,
      "claude-code",
      await hookPayload("claude-code-pretooluse-bash", { session_id: session }),
      { env: down },
    );
    const answer = approval.json?.hookSpecificOutput;
    assertEquals(answer.permissionDecision, "deny");
    assert(String(answer.permissionDecisionReason).includes("cannot be reached"));
    const stop = await runHookCli(
      w.project,
      "claude-code",
      await hookPayload("claude-code-stop", { session_id: session }),
      { env: down },
    );
    assertEquals([stop.code, stop.stdout], [0, ""]);

    const queued: string[] = [];
    for await (const f of Deno.readDir(`${w.project.dir}/.agentops/queue`)) {
      if (f.isFile) {
        const text = await Deno.readTextFile(`${w.project.dir}/.agentops/queue/${f.name}`);
        queued.push(JSON.parse(text).event_id);
      }
    }
    assertEquals(queued.length, 2);
    const [{ n }] = await w.stack.sql`select count(*)::int as n from public.events`;
    assertEquals(n, 0);

    // Back up: the next hook (or `agentops flush`) delivers the queue with its event ids.
    const flushed = await runCli(w.project, ["flush"]);
    assertEquals(flushed.code, 0, flushed.stderr + flushed.stdout);
    const again = await runCli(w.project, ["flush"]);
    assertEquals(again.code, 0);
    const events = await w.stack.sql`select id, type from public.events
                                     where run_id = ${runId} order by seq`;
    assertEquals(events.map((e) => e.type), ["RUN_STARTED", "RUN_COMPLETED"]);
    assertEquals(events.map((e) => e.id).sort(), queued.sort());
    const [run] = await w.stack.sql`select status from public.runs where id = ${runId}`;
    assertEquals(run.status, "COMPLETED");
  });
});

Deno.test("agentops audit verify recomputes a run's chain and names a tampered row", () =>
  withHookWorld({}, async (w) => {
    const session = `s-${crypto.randomUUID()}`;
    const runId = await toRunId("claude-code", session);
    for (
      const name of ["claude-code-sessionstart", "claude-code-notification", "claude-code-stop"]
    ) {
      await runHookCli(w.project, "claude-code", await hookPayload(name, { session_id: session }));
    }
    const env = { DATABASE_URL: w.stack.databaseUrl };
    const ok = await runCli(w.project, ["audit", "verify", runId], { env });
    assertEquals(ok.code, 0, ok.stderr);
    assertEquals([ok.json?.ok, ok.json?.checked], [true, 3]);
    await w.stack.sql`update public.events set payload = '{"message": "forged"}'
                      where run_id = ${runId} and seq = 2`;
    const bad = await runCli(w.project, ["audit", "verify", runId], { env });
    assertEquals(bad.code, 1);
    assertEquals([bad.json?.ok, bad.json?.first_bad_seq], [false, 2]);
  }));
