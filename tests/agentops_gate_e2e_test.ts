// End to end, per agent (Claude Code, Codex, Cursor, Gemini CLI, Copilot CLI): documented
// payloads with unknown extra fields piped into `agentops hook …` as a subprocess against
// the running stack, decided from a supabase-js phone. Every answer is parsed with the
// agent's documented output schema (strict: no field the agent does not know), and the
// phone's note is followed to where the agent's model reads it.
import { assert, assertEquals } from "./_helpers/assert.ts";
import { startStack } from "./_helpers/stack.ts";
import { randomDevice, randomWorkspace } from "./_helpers/fixtures.ts";
import { eventually } from "./_helpers/approvals.ts";
import {
  hookPayload,
  type HookWorld,
  invoke,
  runCli,
  testPhone,
  type TestProject,
  testProject,
  withHookWorld,
} from "./_helpers/agentops.ts";
import { assertHookOutput } from "./_helpers/hook_schemas.ts";
import type { Agent } from "../client/hooks.ts";
import { runHook } from "../client/runner.ts";

type Json = Record<string, unknown>;

interface AgentCase {
  agent: Agent;
  /** the approval hook: fixture and event */
  approval: [string, string];
  /** the hook that hands an allow note over after the command, if the agent has one */
  after?: [string, string];
  /** the stop hook */
  stop: [string, string];
  /** payload fields that make a fresh session (and request key) */
  fresh: () => Json;
  /** the approval answer's decision */
  decision: (answer: Json | null) => string | undefined;
}

const uuid = () => crypto.randomUUID();
const CASES: AgentCase[] = [
  {
    agent: "claude-code",
    approval: ["claude-code-pretooluse-bash", "PreToolUse"],
    after: ["claude-code-posttooluse-bash", "PostToolUse"],
    stop: ["claude-code-stop", "Stop"],
    fresh: () => ({
      session_id: `s-${uuid()}`,
      tool_use_id: `toolu_${uuid().replaceAll("-", "")}`,
    }),
    decision: (a) => (a?.hookSpecificOutput as Json)?.permissionDecision as string,
  },
  {
    agent: "codex",
    approval: ["codex-permissionrequest-bash", "PermissionRequest"],
    after: ["codex-posttooluse-bash", "PostToolUse"],
    stop: ["codex-stop", "Stop"],
    fresh: () => ({ session_id: uuid() }),
    decision: (a) =>
      ((a?.hookSpecificOutput as Json)?.decision as Json)?.behavior as string | undefined,
  },
  {
    agent: "cursor",
    approval: ["cursor-beforeshellexecution", "beforeShellExecution"],
    stop: ["cursor-stop", "stop"],
    fresh: () => ({ conversation_id: uuid(), generation_id: `g-${uuid()}` }),
    decision: (a) => a?.permission as string,
  },
  {
    agent: "gemini",
    approval: ["gemini-beforetool-shell", "BeforeTool"],
    after: ["gemini-aftertool-shell", "AfterTool"],
    stop: ["gemini-afteragent", "AfterAgent"],
    fresh: () => ({ session_id: uuid() }),
    decision: (a) => a?.decision as string,
  },
  {
    agent: "copilot",
    approval: ["copilot-pretooluse-bash", "preToolUse"],
    stop: ["copilot-agentstop", "agentStop"],
    fresh: () => ({ sessionId: uuid() }),
    decision: (a) => a?.permissionDecision as string,
  },
];

/** Pipes a payload into `agentops hook <agent>` (Copilot's event named on the command
 * line, as install writes it) and checks the answer against the documented schema. */
async function hook(
  project: TestProject,
  c: AgentCase,
  [name, event]: [string, string],
  extra: Json,
  options: { timeout?: number; env?: Record<string, string> } = {},
): Promise<{ answer: Json | null; stdout: string }> {
  const args = ["hook", c.agent];
  if (c.agent === "copilot") args.push("--event", event);
  if (options.timeout) args.push("--timeout", String(options.timeout));
  const out = await runCli(project, args, {
    stdin: JSON.stringify(await hookPayload(name, extra)),
    env: options.env,
  });
  assertEquals(out.code, 0, out.stderr);
  return { answer: assertHookOutput(c.agent, event, out.stdout), stdout: out.stdout };
}

async function pendingApproval(w: HookWorld): Promise<string> {
  let id = "";
  await eventually(
    async () => {
      const rows = await w.stack.sql`select id from public.approvals
                                   where workspace_id = ${w.ws.workspaceId} and status = 'PENDING'`;
      id = rows[0]?.id ?? "";
      return id !== "";
    },
    "the hook's approval request",
    60_000,
  );
  return id;
}

/** Runs the approval hook, decides it on the phone, returns the hook's answer. */
async function decided(
  w: HookWorld,
  c: AgentCase,
  session: Json,
  decision: { decision: "APPROVE" | "DENY"; note?: string },
): Promise<Json | null> {
  const running = hook(w.project, c, c.approval, session);
  const approvalId = await pendingApproval(w);
  const phone = await testPhone(w.stack, w.userId);
  const res = await invoke(phone, `mobile-approval-decision/${approvalId}`, decision);
  assertEquals(res.status, 200, JSON.stringify(res.body));
  return (await running).answer;
}

for (const c of CASES) {
  Deno.test(`${c.agent}: approve, approve with a note (the note reaches the model), deny with a note`, () =>
    withHookWorld({}, async (w) => {
      // Approve, no note.
      const plain = await decided(w, c, c.fresh(), { decision: "APPROVE" });
      assertEquals(c.decision(plain), "allow");

      // Approve with a note: it reaches the agent through a channel its model reads.
      const note = `keep package-lock.json ${uuid().slice(0, 8)}`;
      const session = c.fresh();
      const approved = await decided(w, c, session, { decision: "APPROVE", note });
      assertEquals(c.decision(approved), "allow");
      if (c.agent === "cursor") {
        assertEquals(approved?.agent_message, note); // Cursor: agent_message on allow
      } else {
        // No documented field for it in this answer (Codex would discard the answer).
        assert(!JSON.stringify(approved).includes(note), JSON.stringify(approved));
        if (c.after) {
          const { answer } = await hook(w.project, c, c.after, session);
          const context = (answer?.hookSpecificOutput as Json)?.additionalContext;
          assert(String(context).includes(note), JSON.stringify(answer));
          // Handed over once: the next after-command hook has nothing more.
          const again = await hook(w.project, c, c.after, session);
          assert(!again.stdout.includes(note));
        } else {
          // Copilot: its command hooks cannot add context after a tool; the note is the
          // prompt of the next turn at agentStop ({"decision": "block", "reason": …}).
          const { answer } = await hook(w.project, c, c.stop, session);
          assertEquals(answer?.decision, "block");
          assert(String(answer?.reason).includes(note), JSON.stringify(answer));
        }
      }

      // Deny with a note: in the field the agent shows its model on deny.
      const why = "never force-push main; open a PR instead";
      const denied = await decided(w, c, c.fresh(), { decision: "DENY", note: why });
      assertEquals(c.decision(denied), "deny");
      assert(JSON.stringify(denied).includes(why), JSON.stringify(denied));
    }));

  Deno.test(`${c.agent}: nobody decides before the runner's deadline → the timeout fallback`, () =>
    withHookWorld({ policy: { fallback: { timeout: "deny" } } }, async (w) => {
      // Host timeout 10 s: the runner answers by its own deadline (5 s under it).
      const { answer } = await hook(w.project, c, c.approval, c.fresh(), {
        timeout: 10,
        env: { AGENTOPS_WAIT_POLL_SECONDS: "2" },
      });
      assertEquals(c.decision(answer), "deny");
      assert(JSON.stringify(answer).includes("no decision"), JSON.stringify(answer));
    }));
}

/** A backend that accepts TCP connections and never answers a byte. */
function hangingBackend(): { url: string; close(): void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  (async () => {
    try {
      for await (const conn of listener) conns.push(conn);
    } catch { /* closed */ }
  })();
  return {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}/functions/v1`,
    close() {
      for (const conn of conns) {
        try {
          conn.close();
        } catch { /* gone */ }
      }
      listener.close();
    },
  };
}

Deno.test("a backend that accepts and never answers: every agent's approval hook gives the fallback long before the host's timeout", async () => {
  const backend = hangingBackend();
  const ws = { workspaceId: uuid(), secret: "x".repeat(43), displayName: "hanging" };
  const project = await testProject({ functionsUrl: backend.url }, ws, {
    policy: { fallback: { unreachable: "deny" } },
    url: backend.url,
  });
  try {
    // The installed host timeout is ~330 s; each runner's bound here is 30 s.
    for (const c of CASES) {
      const started = Date.now();
      const { answer } = await hook(project, c, c.approval, c.fresh(), { timeout: 330 });
      const seconds = (Date.now() - started) / 1000;
      assertEquals(c.decision(answer), "deny", c.agent);
      assert(JSON.stringify(answer).includes("backend"), JSON.stringify(answer));
      assert(seconds < 30, `${c.agent}: the runner took ${seconds} s`);
    }
  } finally {
    backend.close();
    await project.close();
  }
});

Deno.test("a backend that accepts and never answers: hooks that ask nobody answer within 2 s and queue their events", async () => {
  const backend = hangingBackend();
  const ws = { workspaceId: uuid(), secret: "x".repeat(43), displayName: "hanging" };
  const project = await testProject({ functionsUrl: backend.url }, ws, { url: backend.url });
  const previous = Deno.env.get("AGENTOPS_URL");
  Deno.env.set("AGENTOPS_URL", backend.url);
  try {
    const cases: [Agent, string, string?][] = [
      ["claude-code", "claude-code-sessionstart"],
      ["claude-code", "claude-code-stop"],
      ["cursor", "cursor-stop"],
      ["gemini", "gemini-sessionstart"],
      ["gemini", "gemini-afteragent"],
      ["copilot", "copilot-sessionstart", "sessionStart"],
      ["copilot", "copilot-agentstop", "agentStop"],
    ];
    for (const [agent, name, event] of cases) {
      const raw = JSON.stringify(await hookPayload(name));
      const started = performance.now();
      const result = await runHook(agent, raw, { project: project.dir, event });
      const ms = performance.now() - started;
      assertEquals(result.exitCode, 0);
      assert(ms < 2_000, `${agent} ${name} took ${Math.round(ms)} ms`);
    }
    let queued = 0;
    for await (const f of Deno.readDir(`${project.dir}/.agentops/queue`)) if (f.isFile) queued++;
    assertEquals(queued, 7);
  } finally {
    if (previous === undefined) Deno.env.delete("AGENTOPS_URL");
    else Deno.env.set("AGENTOPS_URL", previous);
    backend.close();
    await project.close();
  }
});

Deno.test("Cursor running Claude Code's hooks steps aside when the Cursor hooks gate the project", async () => {
  const stack = await startStack();
  const ws = await randomWorkspace(stack.sql);
  await randomDevice(stack.sql, { workspaceId: ws.workspaceId, userId: uuid() });
  const project = await testProject(stack, ws);
  try {
    await Deno.mkdir(`${project.dir}/.cursor`);
    await Deno.writeTextFile(
      `${project.dir}/.cursor/hooks.json`,
      JSON.stringify({
        version: 1,
        hooks: { beforeShellExecution: [{ command: "agentops hook cursor --timeout 330" }] },
      }),
    );
    // Cursor's payload for a Claude-compatible hook carries cursor_version.
    const out = await runCli(project, ["hook", "claude-code"], {
      stdin: JSON.stringify(
        await hookPayload("claude-code-pretooluse-bash", { cursor_version: "2.1.0" }),
      ),
    });
    assertEquals([out.code, out.stdout], [0, ""]);
    const [{ n }] = await stack.sql`select count(*)::int as n from public.approvals`;
    assertEquals(n, 0);
  } finally {
    await project.close();
    await stack.close();
  }
});

Deno.test("Claude Code's PowerShell tool is gated like Bash", () =>
  withHookWorld({ policy: { fallback: { timeout: "deny" } } }, async (w) => {
    const c = CASES[0];
    const running = hook(w.project, c, ["claude-code-pretooluse-powershell", "PreToolUse"], {
      session_id: `s-${uuid()}`,
      tool_use_id: `toolu_${uuid().replaceAll("-", "")}`,
    });
    const approvalId = await pendingApproval(w);
    const [row] = await w.stack.sql`select command from public.approvals where id = ${approvalId}`;
    assert(String(row.command).startsWith("Remove-Item"));
    const phone = await testPhone(w.stack, w.userId);
    await invoke(phone, `mobile-approval-decision/${approvalId}`, {
      decision: "DENY",
      note: "keep dist",
    });
    const { answer } = await running;
    assertEquals(c.decision(answer), "deny");
  }));
