// The npm package end to end: `npm pack` of packages/agentops, installed into a temporary
// prefix, then the installed `agentops` on Node — no Deno, no checkout — pairs with the
// local stack through the stand-in phone, installs Claude Code's hooks, and a hook runs
// through the very command the hooks file names, with an approval decided on the phone.
// Also the CLI conventions on the installed command: help everywhere, errors with hints.
import { assert, assertEquals, assertMatch } from "./_helpers/assert.ts";
import { startStack, TEST_JWT_SECRET } from "./_helpers/stack.ts";
import { eventually } from "./_helpers/approvals.ts";
import { hookPayload, testProject } from "./_helpers/agentops.ts";
import { installPackedCli, runInstalled, runShell } from "./_helpers/agentops_package.ts";
import { COMMANDS } from "../client/cli.ts";
import { freePort } from "../bench/lib/ports.ts";

const cli = await installPackedCli();

// Removed when the test module unloads (the tests below share the one install).
globalThis.addEventListener("unload", () => {
  try {
    Deno.removeSync(cli.tarball.slice(0, cli.tarball.lastIndexOf("/")), { recursive: true });
  } catch { /* already gone */ }
});

Deno.test("the installed agentops prints its help and version and refuses typos with a hint", async () => {
  const opts = { cwd: Deno.cwd(), env: {} };
  const help = await runInstalled(cli, ["--help"], opts);
  assertEquals(help.code, 0, help.stderr);
  for (const c of COMMANDS) assert(help.stdout.includes(`agentops ${c.name}`), c.name);
  assertEquals((await runInstalled(cli, ["-h"], opts)).code, 0);
  const version = await runInstalled(cli, ["--version"], opts);
  assertEquals(version.stdout, `agentops ${cli.version}`);

  // --help on every command exits 0 with its usage (every subcommand and -h: client/cli_test.ts).
  for (const c of COMMANDS) {
    const out = await runInstalled(cli, [c.name, "--help"], opts);
    assertEquals(out.code, 0, `${c.name} --help: ${out.stderr}`);
    assert(out.stdout.includes(`agentops ${c.name}`), out.stdout);
  }

  const typo = await runInstalled(cli, ["instal", "cursor"], opts);
  assertEquals(typo.code, 2);
  assertMatch(typo.stderr, /unknown command "instal" \(did you mean install\?\)/);
  const option = await runInstalled(cli, ["pair", "--nmae", "x"], opts);
  assertEquals(option.code, 2);
  assertMatch(option.stderr, /unknown option --nmae \(did you mean --name\?\)/);
  const agent = await runInstalled(cli, ["install", "cursr"], opts);
  assertEquals(agent.code, 2);
  assertMatch(agent.stderr, /did you mean cursor\?/);
  const sub = await runInstalled(cli, ["phone", "aprove", "x"], opts);
  assertEquals(sub.code, 2);
  assertMatch(sub.stderr, /did you mean approve\?/);
});

Deno.test("a network error names the URL it tried and what to do", async () => {
  const port = freePort(); // nothing listens there
  const project = await testProject(
    { functionsUrl: `http://127.0.0.1:${port}/functions/v1` },
    null,
  );
  try {
    const out = await runInstalled(cli, ["pair", "--no-qr"], {
      cwd: project.dir,
      env: project.env,
    });
    assertEquals(out.code, 1);
    assertMatch(
      out.stderr,
      /Cannot reach http:\/\/127\.0\.0\.1:\d+\/functions\/v1\/pair-start: connection refused\. Is `npm run dev` running/,
    );
    assert(!out.stderr.includes("    at "), out.stderr); // no stack trace
    const doctor = await runInstalled(cli, ["doctor"], { cwd: project.dir, env: project.env });
    assertEquals(doctor.code, 1);
    assertMatch(doctor.stdout, /FAIL\s+backend\s+cannot reach/);
  } finally {
    await project.close();
  }
});

Deno.test("the installed agentops pairs, installs hooks that call it, and a hook asks the phone", async () => {
  const stack = await startStack();
  const project = await testProject(stack, null);
  const env = {
    ...project.env,
    AGENTOPS_PHONE_STATE: `${project.dir}/phone.json`,
    AGENTOPS_DATABASE_URL: stack.databaseUrl,
    SUPABASE_JWT_SECRET: TEST_JWT_SECRET,
  };
  const opts = { cwd: project.dir, env };
  try {
    // pair: the code printed, the stand-in phone (the same installed command) pairs.
    const child = new Deno.Command(cli.bin, {
      args: ["pair", "--no-qr", "--name", "packaged", "--wait", "60"],
      cwd: project.dir,
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
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
    if (!code) {
      const stderr = await new Response(child.stderr).text();
      throw new Error(`agentops pair printed no code:\n${printed}\n${stderr}`);
    }
    const paired = await runInstalled(cli, ["phone", "pair", code], opts);
    assertEquals(paired.code, 0, paired.stderr);
    while (!(await reader.read()).done) { /* drain */ }
    assertEquals((await child.status).code, 0);
    const stat = await Deno.stat(`${project.dir}/.agentops/credentials.json`);
    assertEquals(stat.mode! & 0o777, 0o600);

    // install: the hooks call the installed command.
    const installed = await runInstalled(cli, ["install", "claude-code"], opts);
    assertEquals(installed.code, 0, installed.stderr);
    const settings = JSON.parse(
      await Deno.readTextFile(`${project.dir}/.claude/settings.local.json`),
    );
    const preToolUse: string = settings.hooks.PreToolUse[0].hooks[0].command;
    const sessionStart: string = settings.hooks.SessionStart[0].hooks[0].command;
    assert(preToolUse.startsWith(`${cli.bin} hook claude-code `), preToolUse);

    // doctor: everything is in order.
    const doctor = await runInstalled(cli, ["doctor"], opts);
    assertEquals(doctor.code, 0, doctor.stdout + doctor.stderr);
    assertMatch(doctor.stdout, /ok\s+clock/);
    assertMatch(doctor.stdout, /ok\s+hooks claude-code\s+\.claude\/settings\.local\.json/);

    // A run event through the hook command as Claude Code runs it.
    const session = `s-${crypto.randomUUID()}`;
    const started = await runShell(sessionStart, {
      ...opts,
      stdin: JSON.stringify(await hookPayload("claude-code-sessionstart", { session_id: session })),
    });
    assertEquals(started.code, 0, started.stderr);
    const [{ n }] = await stack.sql`select count(*)::int as n from public.runs`;
    assertEquals(n, 1);

    // An approval: the hook blocks until the phone approves with a note.
    const hook = runShell(preToolUse, {
      ...opts,
      stdin: JSON.stringify(
        await hookPayload("claude-code-pretooluse-bash", {
          session_id: session,
          tool_use_id: `toolu_${crypto.randomUUID().slice(0, 8)}`,
        }),
      ),
    });
    let approvalId = "";
    await eventually(async () => {
      const out = await runInstalled(cli, ["phone", "pending"], opts);
      approvalId = out.stdout.match(/^([0-9a-f-]{36})\s.*rm -rf node_modules$/m)?.[1] ?? "";
      return approvalId !== "";
    }, "the approval in `agentops phone pending`");
    const approved = await runInstalled(
      cli,
      ["phone", "approve", approvalId, "--note", "fine, then npm ci"],
      opts,
    );
    assertEquals(approved.code, 0, approved.stderr);
    const answer = await hook;
    assertEquals(answer.code, 0, answer.stderr);
    const output = JSON.parse(answer.stdout);
    assertEquals(output.hookSpecificOutput.permissionDecision, "allow");

    // The timeline shows the rule, the decision with its device and note; it verifies.
    const [{ run_id: runId }] = await stack.sql`select id as run_id from public.runs`;
    const tail = await runInstalled(cli, ["phone", "tail", runId], opts);
    assertEquals(tail.code, 0, tail.stderr);
    // The rule as the parser-based policy names it (the simple command that decided).
    assertMatch(
      tail.stdout,
      /APPROVAL_REQUESTED\s+rm -rf node_modules\s+\[rule: rm -rf node_modules: rm is on the dangerous list\]/,
    );
    assertMatch(
      tail.stdout,
      /APPROVAL_DECIDED\s+APPROVED by agentops phone \(.+\)\s+note: "fine, then npm ci"/,
    );
    const verified = await runInstalled(cli, ["audit", "verify", runId], opts);
    assertEquals(verified.code, 0, verified.stdout + verified.stderr);
    const unknown = await runInstalled(cli, ["audit", "verify", crypto.randomUUID()], opts);
    assertEquals(unknown.code, 1, unknown.stdout);
    assertMatch(unknown.stderr, /does not verify: no events/);
  } finally {
    await project.close();
    await stack.close();
  }
});
