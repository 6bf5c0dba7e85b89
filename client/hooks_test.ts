import { assert, assertEquals } from "../tests/_helpers/assert.ts";
import {
  afterCommandOutput,
  type Agent,
  allowNoteInline,
  approvalOutput,
  mapHook,
  notRequiredOutput,
  stopOutput,
} from "./hooks.ts";
import { assertHookOutput } from "../tests/_helpers/hook_schemas.ts";
import { isUuid, toRunId } from "./run_id.ts";

const FIXTURES = new URL("../tests/fixtures/hooks/", import.meta.url);

async function fixture(name: string, extra: Record<string, unknown> = {}) {
  const json = JSON.parse(await Deno.readTextFile(new URL(`${name}.json`, FIXTURES)));
  // Real payloads carry fields the fixtures do not: they must not matter.
  return { ...json, some_future_field: { nested: true }, ...extra };
}

Deno.test("toRunId() keeps a UUID and derives a stable UUID from any other id", async () => {
  const uuid = "C0FFEE00-1111-4222-8333-444455556666";
  assertEquals(await toRunId("cursor", uuid), uuid.toLowerCase());
  const a = await toRunId("claude-code", "abc123");
  assert(isUuid(a));
  assertEquals(a[14], "5");
  assert("89ab".includes(a[19]));
  assertEquals(await toRunId("claude-code", "abc123"), a);
  assert(a !== await toRunId("codex", "abc123"));
});

Deno.test("a Claude Code PreToolUse Bash payload asks for an approval keyed by tool_use_id", async () => {
  const action = await mapHook("claude-code", await fixture("claude-code-pretooluse-bash"));
  assert(action.kind === "approval");
  assertEquals(action.command, "rm -rf node_modules");
  assertEquals(action.requestKey, "toolu_01ABCDEF");
  assertEquals(action.providerRunId, "abc123");
  assertEquals(action.runId, await toRunId("claude-code", "abc123"));
  assertEquals(action.cwd, "/home/dev/repo");
});

Deno.test("a PermissionRequest's key is a hash of session, tool and input, stable across calls", async () => {
  const input = await fixture("claude-code-permissionrequest-bash");
  const a = await mapHook("claude-code", input);
  const b = await mapHook("claude-code", { ...input, unrelated: 1 });
  const c = await mapHook("claude-code", {
    ...input,
    tool_input: { ...input.tool_input, command: "git push origin main" },
  });
  assert(a.kind === "approval" && b.kind === "approval" && c.kind === "approval");
  assertEquals(a.requestKey, b.requestKey);
  assert(a.requestKey !== c.requestKey);
  assert(a.requestKey.length <= 200);
});

Deno.test("non-Bash tools and unknown hook events are ignored", async () => {
  const input = await fixture("claude-code-pretooluse-bash", { tool_name: "Edit" });
  assertEquals((await mapHook("claude-code", input)).kind, "ignore");
  const other = await fixture("claude-code-stop", { hook_event_name: "PreCompact" });
  assertEquals((await mapHook("claude-code", other)).kind, "ignore");
  assertEquals((await mapHook("cursor", { hook_event_name: "beforeTabFileRead" })).kind, "ignore");
});

Deno.test("a payload without a session id still asks for approval, under a per-folder run", async () => {
  const input = { hook_event_name: "beforeShellExecution", command: "rm -rf /", cwd: "/repo" };
  const action = await mapHook("cursor", input);
  assert(action.kind === "approval");
  assertEquals(action.providerRunId, "no-session:/repo");
  assert(isUuid(action.runId));
});

Deno.test("Claude Code session hooks map to run events with their messages", async () => {
  const start = await mapHook("claude-code", await fixture("claude-code-sessionstart"));
  assert(start.kind === "event");
  assertEquals(start.eventType, "RUN_STARTED");
  const note = await mapHook("claude-code", await fixture("claude-code-notification"));
  assert(note.kind === "event");
  assertEquals(note.eventType, "NOTIFICATION");
  assertEquals(note.payload.message, "Claude needs your permission to use Bash");
  const stop = await mapHook("claude-code", await fixture("claude-code-stop"));
  assert(stop.kind === "stop");
  assertEquals([stop.eventType, stop.payload.message, stop.stopHookActive], [
    "RUN_COMPLETED",
    "All tests pass.",
    false,
  ]);
  const active = await mapHook(
    "claude-code",
    await fixture("claude-code-stop", { stop_hook_active: true }),
  );
  assert(active.kind === "stop" && active.stopHookActive);
  const failure = await mapHook(
    "claude-code",
    await fixture("claude-code-stop", { hook_event_name: "StopFailure", error: "rate_limit" }),
  );
  assert(failure.kind === "event");
  assertEquals(failure.eventType, "RUN_FAILED");
});

Deno.test("Cursor hooks map to approvals and events keyed by conversation_id", async () => {
  const before = await mapHook("cursor", await fixture("cursor-beforeshellexecution"));
  assert(before.kind === "approval");
  assertEquals(before.runId, "c0ffee00-1111-4222-8333-444455556666");
  assertEquals(before.command, "npm publish");
  assert(before.requestKey.startsWith("cursor:g-789:"));
  for (
    const [status, type] of [
      ["completed", "RUN_COMPLETED"],
      ["aborted", "RUN_STOPPED"],
      ["error", "RUN_FAILED"],
    ]
  ) {
    const stop = await mapHook("cursor", await fixture("cursor-stop", { status }));
    assert(stop.kind === "stop");
    assertEquals(stop.eventType, type);
  }
  const after = await mapHook(
    "cursor",
    await fixture("cursor-beforeshellexecution", {
      hook_event_name: "afterShellExecution",
      output: "secret output",
      duration: 12,
    }),
  );
  assert(after.kind === "event");
  assertEquals(after.eventType, "COMMAND_EXECUTED");
  assertEquals(after.payload, { command: "npm publish", duration_ms: 12 });
  const end = await mapHook(
    "cursor",
    await fixture("cursor-stop", { hook_event_name: "sessionEnd" }),
  );
  assert(end.kind === "event" && end.eventType === "SESSION_ENDED");
});

Deno.test("approval answers match each agent's documented schema, the deny note where the model reads it", () => {
  const deny = { decision: "deny" as const, note: "use --force-with-lease", reason: "Denied" };
  const allow = { decision: "allow" as const, note: "then run the tests", reason: "Approved" };
  const cases: [Agent, string][] = [
    ["claude-code", "PreToolUse"],
    ["claude-code", "PermissionRequest"],
    ["codex", "PermissionRequest"],
    ["cursor", "beforeShellExecution"],
    ["gemini", "BeforeTool"],
    ["copilot", "preToolUse"],
  ];
  for (const [agent, event] of cases) {
    const denied = assertHookOutput(agent, event, approvalOutput(agent, event, deny));
    assert(JSON.stringify(denied).includes("use --force-with-lease"), `${agent} ${event}`);
    const allowed = assertHookOutput(agent, event, approvalOutput(agent, event, allow));
    // Only Cursor has a field the model reads on allow; the others hand the note over later.
    assertEquals(
      JSON.stringify(allowed).includes("then run the tests"),
      allowNoteInline(agent),
      `${agent} ${event}`,
    );
    const asked = approvalOutput(agent, event, { decision: "ask", reason: "x" });
    assertHookOutput(agent, event, asked);
  }
  const perm = JSON.parse(approvalOutput("codex", "PermissionRequest", allow));
  assertEquals(perm, {
    hookSpecificOutput: { hookEventName: "PermissionRequest", decision: { behavior: "allow" } },
  });
  assertEquals(
    approvalOutput("claude-code", "PermissionRequest", { decision: "ask", reason: "x" }),
    "",
  );
  assertEquals(JSON.parse(approvalOutput("cursor", "beforeShellExecution", deny)), {
    permission: "deny",
    user_message: "Denied",
    agent_message: "use --force-with-lease",
  });
  assertEquals(JSON.parse(notRequiredOutput("cursor")), { permission: "allow" });
  assertEquals(notRequiredOutput("claude-code"), "");
  assertEquals(notRequiredOutput("gemini"), "{}");
});

Deno.test("after-command answers carry the note as context the model reads", () => {
  for (
    const [agent, event] of [
      ["claude-code", "PostToolUse"],
      ["claude-code", "PostToolUseFailure"],
      ["codex", "PostToolUse"],
      ["gemini", "AfterTool"],
    ] as [Agent, string][]
  ) {
    const out = assertHookOutput(agent, event, afterCommandOutput(agent, event, "keep the lock"));
    assertEquals(
      (out?.hookSpecificOutput as Record<string, unknown>).additionalContext,
      "keep the lock",
    );
    assertHookOutput(agent, event, afterCommandOutput(agent, event, null));
  }
});

Deno.test("Claude Code's PowerShell tool, Gemini's and Copilot's shell tools ask for approval", async () => {
  const pwsh = await mapHook("claude-code", await fixture("claude-code-pretooluse-powershell"));
  assert(pwsh.kind === "approval");
  assertEquals([pwsh.shell, pwsh.requestKey], ["powershell", "toolu_01PWSH"]);
  const gemini = await mapHook("gemini", await fixture("gemini-beforetool-shell"));
  assert(gemini.kind === "approval");
  assertEquals(gemini.command, "rm -rf dist");
  assert(gemini.requestKey.startsWith("gemini:perm:"));
  const copilot = await mapHook("copilot", await fixture("copilot-pretooluse-bash"), "preToolUse");
  assert(copilot.kind === "approval");
  assertEquals([copilot.command, copilot.providerRunId], [
    "npm publish",
    "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9",
  ]);
  // Older Copilot builds send toolArgs as a JSON string.
  const stringArgs = await mapHook("copilot", {
    sessionId: "s",
    toolName: "bash",
    toolArgs: JSON.stringify({ command: "rm -rf x" }),
  }, "preToolUse");
  assert(stringArgs.kind === "approval" && stringArgs.command === "rm -rf x");
  const view = await mapHook(
    "copilot",
    { sessionId: "s", toolName: "view", toolArgs: {} },
    "preToolUse",
  );
  assertEquals(view.kind, "ignore");
  const after = await mapHook("gemini", await fixture("gemini-aftertool-shell"));
  assert(after.kind === "after_command" && after.command === "rm -rf dist");
  const stop = await mapHook("gemini", await fixture("gemini-afteragent"));
  assert(stop.kind === "stop" && stop.payload.message === "Removed dist/.");
  const copilotStop = await mapHook("copilot", await fixture("copilot-agentstop"), "agentStop");
  assertEquals(copilotStop.kind, "stop");
});

Deno.test("stop answers hand instructions over natively, or let the agent stop", () => {
  for (
    const [agent, event] of [
      ["claude-code", "Stop"],
      ["codex", "Stop"],
      ["cursor", "stop"],
      ["gemini", "AfterAgent"],
      ["copilot", "agentStop"],
    ] as [Agent, string][]
  ) {
    const out = assertHookOutput(agent, event, stopOutput(agent, ["lint"], "a note"));
    assert(JSON.stringify(out).includes("a note") && JSON.stringify(out).includes("lint"));
    assertHookOutput(agent, event, stopOutput(agent, []));
  }
  const claude = JSON.parse(stopOutput("claude-code", ["run the linter"]));
  assertEquals(claude.decision, "block");
  assert(claude.reason.includes("run the linter"));
  const cursor = JSON.parse(stopOutput("cursor", ["first", "second"]));
  assert(cursor.followup_message.includes("1. first\n2. second"));
  assertEquals(stopOutput("claude-code", []), "");
  assertEquals(stopOutput("cursor", []), "{}");
});
