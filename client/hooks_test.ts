import { assert, assertEquals } from "../tests/_helpers/assert.ts";
import { approvalOutput, mapHook, notRequiredOutput, stopOutput } from "./hooks.ts";
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

Deno.test("approval answers put the note where each agent reads it", () => {
  const deny = { decision: "deny" as const, note: "use --force-with-lease", reason: "Denied" };
  const allow = { decision: "allow" as const, note: "then run the tests", reason: "Approved" };
  const pre = JSON.parse(approvalOutput("claude-code", "PreToolUse", deny)).hookSpecificOutput;
  assertEquals(pre.hookEventName, "PreToolUse");
  assertEquals(pre.permissionDecision, "deny");
  assert(pre.permissionDecisionReason.includes("use --force-with-lease"));
  const preAllow =
    JSON.parse(approvalOutput("claude-code", "PreToolUse", allow)).hookSpecificOutput;
  assertEquals([preAllow.permissionDecision, preAllow.additionalContext], [
    "allow",
    "then run the tests",
  ]);
  const perm = JSON.parse(approvalOutput("codex", "PermissionRequest", deny)).hookSpecificOutput;
  assertEquals(perm.decision, { behavior: "deny", message: "use --force-with-lease" });
  const permAllow = JSON.parse(approvalOutput("claude-code", "PermissionRequest", allow));
  assertEquals(permAllow.hookSpecificOutput.decision, { behavior: "allow" });
  assertEquals(permAllow.hookSpecificOutput.additionalContext, "then run the tests");
  assertEquals(
    approvalOutput("claude-code", "PermissionRequest", { decision: "ask", reason: "x" }),
    "",
  );
  const cursor = JSON.parse(approvalOutput("cursor", "beforeShellExecution", deny));
  assertEquals(cursor, {
    permission: "deny",
    user_message: "Denied",
    agent_message: "use --force-with-lease",
  });
  assertEquals(JSON.parse(notRequiredOutput("cursor")), { permission: "allow" });
  assertEquals(notRequiredOutput("claude-code"), "");
});

Deno.test("stop answers hand instructions over natively, or let the agent stop", () => {
  const claude = JSON.parse(stopOutput("claude-code", ["run the linter"]));
  assertEquals(claude.decision, "block");
  assert(claude.reason.includes("run the linter"));
  const cursor = JSON.parse(stopOutput("cursor", ["first", "second"]));
  assert(cursor.followup_message.includes("1. first\n2. second"));
  assertEquals(stopOutput("claude-code", []), "");
  assertEquals(stopOutput("cursor", []), "{}");
});
