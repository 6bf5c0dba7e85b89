// End to end: `agentops pair` with `agentops phone pair`, and the stand-in phone's
// pending / approve / instruct / tail against the running stack (dev token from the local
// JWT secret, reads as `authenticated` under RLS).
import { assert, assertEquals } from "./_helpers/assert.ts";
import { startStack } from "./_helpers/stack.ts";
import { randomDevice, randomWorkspace } from "./_helpers/fixtures.ts";
import { eventually } from "./_helpers/approvals.ts";
import { CLI, hookPayload, runCli, runHookCli, testProject } from "./_helpers/agentops.ts";
import { toRunId } from "../client/run_id.ts";

Deno.test("the stand-in phone lists a pending approval, approves it with a note, and tails the run", async () => {
  const stack = await startStack();
  const ws = await randomWorkspace(stack.sql);
  const { userId } = await randomDevice(stack.sql, { workspaceId: ws.workspaceId });
  const project = await testProject(stack, ws);
  const phoneEnv = {
    AGENTOPS_PHONE_STATE: `${project.dir}/phone.json`,
    AGENTOPS_DATABASE_URL: stack.databaseUrl,
  };
  await Deno.writeTextFile(phoneEnv.AGENTOPS_PHONE_STATE, JSON.stringify({ user_id: userId }));
  try {
    const session = `s-${crypto.randomUUID()}`;
    const toolUseId = `toolu_${crypto.randomUUID().slice(0, 8)}`;
    const hook = runHookCli(
      project,
      "claude-code",
      await hookPayload("claude-code-pretooluse-bash", {
        session_id: session,
        tool_use_id: toolUseId,
      }),
    );
    let approvalId = "";
    await eventually(
      async () => {
        const out = await runCli(project, ["phone", "pending"], { env: phoneEnv });
        approvalId = out.stdout.match(/^([0-9a-f-]{36})\s.*rm -rf node_modules$/m)?.[1] ?? "";
        return approvalId !== "";
      },
      "the approval in `agentops phone pending`",
      60_000,
    );
    const approved = await runCli(project, [
      "phone",
      "approve",
      approvalId,
      "--note",
      "fine, then reinstall",
    ], { env: phoneEnv });
    assertEquals(approved.code, 0, approved.stderr);
    assertEquals(approved.json?.status, "APPROVED");
    const out = await hook;
    assertEquals(out.json?.hookSpecificOutput?.permissionDecision, "allow");
    // The note reaches Claude after the command, as PostToolUse additionalContext.
    const after = await runHookCli(
      project,
      "claude-code",
      await hookPayload("claude-code-posttooluse-bash", {
        session_id: session,
        tool_use_id: toolUseId,
      }),
    );
    assertEquals(
      after.json?.hookSpecificOutput?.additionalContext?.includes("fine, then reinstall"),
      true,
    );

    const runId = await toRunId("claude-code", session);
    const instructed = await runCli(project, ["phone", "instruct", runId, "run", "npm", "ci"], {
      env: phoneEnv,
    });
    assertEquals(instructed.json?.status, "QUEUED");
    const tail = await runCli(project, ["phone", "tail", runId], { env: phoneEnv });
    assert(/APPROVAL_REQUESTED/.test(tail.stdout), tail.stdout);
    assert(/APPROVAL_DECIDED/.test(tail.stdout), tail.stdout);
    assert(/INSTRUCTION_QUEUED\s+run npm ci/.test(tail.stdout), tail.stdout);

    // Another user's phone sees none of it.
    const strangerEnv = { ...phoneEnv, AGENTOPS_PHONE_STATE: `${project.dir}/stranger.json` };
    const stranger = await runCli(project, ["phone", "tail", runId], { env: strangerEnv });
    assertEquals(stranger.stdout, "");
  } finally {
    await project.close();
    await stack.close();
  }
});

Deno.test({
  name: "agentops pair prints a code, the phone pairs with it, and the credentials are stored 0600",
  async fn() {
    const stack = await startStack();
    const project = await testProject(stack, null);
    const phoneEnv = { AGENTOPS_PHONE_STATE: `${project.dir}/phone.json` };
    try {
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", CLI, "pair", "--no-qr", "--name", "e2e project"],
        cwd: project.dir,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        env: project.env,
      }).spawn();
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let printed = "";
      let code = "";
      while (!code) {
        const { value, done } = await reader.read();
        if (done) break;
        printed += value;
        code = printed.match(/Code: ([0-9A-Z]{8})/)?.[1] ?? "";
      }
      assert(code, printed);
      const paired = await runCli(project, ["phone", "pair", code], { env: phoneEnv });
      assertEquals(paired.code, 0, paired.stderr);
      while (true) {
        const { value, done } = await reader.read();
        if (done) break;
        printed += value;
      }
      const status = await child.status;
      assertEquals(status.code, 0, printed);
      assert(printed.includes("Paired with"), printed);
      const stat = await Deno.stat(`${project.dir}/.agentops/credentials.json`);
      assertEquals(stat.mode! & 0o777, 0o600);
      const creds = JSON.parse(
        await Deno.readTextFile(`${project.dir}/.agentops/credentials.json`),
      );
      assert(creds.paired_at);
      const st = await runCli(project, ["status"]);
      assertEquals(st.code, 0, st.stdout + st.stderr);
      assert(st.stdout.includes("agentops phone"), st.stdout);
    } finally {
      await project.close();
      await stack.close();
    }
  },
});
