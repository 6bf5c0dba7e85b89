// What each agent's hook payload asks of the runner (an approval, a run event, a stop
// that may collect instructions, a finished command that may carry the phone's note), and
// the agent's own output JSON for each answer. Payload fields and outputs follow the
// agents' documentation (docs/hooks.md cites each); unknown payload fields are ignored.
import { sha256Hex } from "./digest.ts";
import { toRunId } from "./run_id.ts";

export type Agent = "claude-code" | "cursor" | "codex" | "gemini" | "copilot";
export const AGENTS: readonly Agent[] = ["claude-code", "cursor", "codex", "gemini", "copilot"];

// deno-lint-ignore no-explicit-any
type Payload = Record<string, any>;

interface RunRef {
  runId: string;
  /** the agent's own id (session_id / conversation_id) */
  providerRunId: string;
}

export type HookAction =
  | RunRef & {
    kind: "approval";
    hookEvent: string;
    command: string;
    /** which shell runs it: Claude Code's PowerShell tool and Copilot's powershell tool
     * run PowerShell, everything else a POSIX shell */
    shell: "sh" | "powershell";
    cwd: string;
    requestKey: string;
    context: Record<string, unknown>;
  }
  | RunRef & {
    kind: "after_command";
    hookEvent: string;
    /** the command that ran (to find the phone's note on its approval) */
    command: string;
  }
  | RunRef & { kind: "event"; hookEvent: string; eventType: string; payload: Payload }
  | RunRef & {
    kind: "stop";
    hookEvent: string;
    /** Claude Code's stop_hook_active: the agent is already continuing because of a stop hook */
    stopHookActive: boolean;
    /** the run event to send when no instruction is handed over */
    eventType: string;
    payload: Payload;
  }
  | { kind: "ignore"; hookEvent: string; reason: string };

const MAX_TEXT = 500;

function clip(value: unknown, max = MAX_TEXT): string | undefined {
  if (typeof value !== "string" || value === "") return undefined;
  return value.length > max ? `${value.slice(0, max - 1)}…` : value;
}

/** Drops undefined values so payloads stay small and canonical. */
function compact(payload: Payload): Payload {
  return Object.fromEntries(Object.entries(payload).filter(([, v]) => v !== undefined));
}

/** The run a payload belongs to. A payload without a session id still gets one (per
 * project folder), so a command is never let through just because the id is missing. */
async function runRef(agent: Agent, input: Payload): Promise<RunRef> {
  let id = agent === "cursor"
    ? input.conversation_id ?? input.session_id
    : input.session_id ?? input.sessionId ?? input.conversation_id;
  if (typeof id !== "string" || id === "") {
    const folder = Array.isArray(input.workspace_roots) ? input.workspace_roots[0] : input.cwd;
    id = `no-session:${typeof folder === "string" ? folder : ""}`;
  }
  return { runId: await toRunId(agent, id), providerRunId: id };
}

function toolCommand(input: Payload): string | null {
  const command = input.tool_input?.command;
  return typeof command === "string" && command.trim() !== "" ? command : null;
}

/** A string field, or "" when the agent left it out. */
function text(value: unknown): string {
  return typeof value === "string" ? value : "";
}

function ignoreTool(hookEvent: string, tool: unknown): HookAction {
  return { kind: "ignore", hookEvent, reason: `tool ${tool} is not a command` };
}

function runEvent(hookEvent: string, ref: RunRef, eventType: string, payload: Payload): HookAction {
  return { kind: "event", hookEvent, ...ref, eventType, payload: compact(payload) };
}

function runStop(
  hookEvent: string,
  ref: RunRef,
  stopHookActive: boolean,
  eventType: string,
  payload: Payload,
): HookAction {
  return { kind: "stop", hookEvent, ...ref, stopHookActive, eventType, payload: compact(payload) };
}

function sessionEnded(hookEvent: string, ref: RunRef, input: Payload): HookAction {
  return runEvent(hookEvent, ref, "SESSION_ENDED", { reason: clip(input.reason, 64) });
}

/** The shell tools each agent gates, by tool name. */
const SHELL_TOOLS: Record<Agent, Record<string, "sh" | "powershell">> = {
  "claude-code": { Bash: "sh", PowerShell: "powershell" },
  codex: { Bash: "sh" },
  cursor: {},
  gemini: { run_shell_command: "sh" },
  copilot: { bash: "sh", powershell: "powershell" },
};

/** The action a hook payload asks for. Copilot CLI's camelCase payloads carry no
 * hook_event_name: the event comes from the installed command (`--event`). */
export async function mapHook(
  agent: Agent,
  input: Payload,
  eventHint?: string,
): Promise<HookAction> {
  const hookEvent = String(input.hook_event_name ?? eventHint ?? "");
  const ref = await runRef(agent, input);
  if (agent === "cursor") return mapCursor(hookEvent, input, ref);
  if (agent === "gemini") return await mapGemini(hookEvent, input, ref);
  if (agent === "copilot") return await mapCopilot(hookEvent, input, ref);
  return await mapClaudeLike(agent, hookEvent, input, ref);
}

async function hashKey(agent: Agent, ref: RunRef, tool: unknown, toolInput: unknown) {
  return `${agent}:perm:${await sha256Hex(JSON.stringify([ref.providerRunId, tool, toolInput]))}`;
}

async function mapClaudeLike(
  agent: Agent,
  hookEvent: string,
  input: Payload,
  ref: RunRef,
): Promise<HookAction> {
  switch (hookEvent) {
    case "PreToolUse":
    case "PermissionRequest": {
      const command = toolCommand(input);
      const shell = SHELL_TOOLS[agent][String(input.tool_name)];
      if (!shell || command === null) {
        return ignoreTool(hookEvent, input.tool_name);
      }
      const requestKey = hookEvent === "PreToolUse" && typeof input.tool_use_id === "string"
        ? input.tool_use_id.slice(0, 200)
        : await hashKey(agent, ref, input.tool_name, input.tool_input);
      return {
        kind: "approval",
        hookEvent,
        ...ref,
        command,
        shell,
        cwd: text(input.cwd),
        requestKey,
        context: compact({
          hook_event_name: hookEvent,
          tool_name: input.tool_name,
          description: clip(input.tool_input?.description),
          permission_mode: clip(input.permission_mode, 64),
        }),
      };
    }
    case "PostToolUse":
    case "PostToolUseFailure": {
      const command = toolCommand(input);
      if (!SHELL_TOOLS[agent][String(input.tool_name)] || command === null) {
        return ignoreTool(hookEvent, input.tool_name);
      }
      return { kind: "after_command", hookEvent, ...ref, command };
    }
    case "SessionStart":
      return runEvent(hookEvent, ref, "RUN_STARTED", {
        source: clip(input.source, 64),
        model: clip(input.model, 128),
      });
    case "Stop":
      return runStop(hookEvent, ref, input.stop_hook_active === true, "RUN_COMPLETED", {
        message: clip(input.last_assistant_message),
      });
    case "StopFailure":
      return runEvent(hookEvent, ref, "RUN_FAILED", {
        message: clip(input.error_message ?? input.error ?? input.last_assistant_message) ??
          "The agent stopped with an error",
        error: clip(typeof input.error === "string" ? input.error : undefined, 128),
      });
    case "Notification":
      return runEvent(hookEvent, ref, "NOTIFICATION", {
        message: clip(input.message),
        title: clip(input.title, 200),
        notification_type: clip(input.notification_type, 64),
      });
    case "SessionEnd":
      return sessionEnded(hookEvent, ref, input);
    default:
      return { kind: "ignore", hookEvent, reason: `${agent} hook ${hookEvent} is not handled` };
  }
}

const CURSOR_STOP_EVENTS: Record<string, string> = {
  completed: "RUN_COMPLETED",
  aborted: "RUN_STOPPED",
  error: "RUN_FAILED",
};

async function mapCursor(hookEvent: string, input: Payload, ref: RunRef): Promise<HookAction> {
  switch (hookEvent) {
    case "beforeShellExecution": {
      const command = typeof input.command === "string" ? input.command : "";
      if (command.trim() === "") return { kind: "ignore", hookEvent, reason: "empty command" };
      const generation = typeof input.generation_id === "string" ? input.generation_id : "";
      return {
        kind: "approval",
        hookEvent,
        ...ref,
        command,
        shell: "sh",
        cwd: text(input.cwd),
        requestKey: `cursor:${generation.slice(0, 100)}:${(await sha256Hex(command)).slice(0, 32)}`,
        context: compact({ hook_event_name: hookEvent, model: clip(input.model, 128) }),
      };
    }
    case "afterShellExecution":
      return runEvent(hookEvent, ref, "COMMAND_EXECUTED", {
        command: clip(input.command, 2000),
        duration_ms: typeof input.duration === "number" ? input.duration : undefined,
      });
    case "sessionStart":
      return runEvent(hookEvent, ref, "RUN_STARTED", {
        model: clip(input.model, 128),
        source: clip(input.source, 64),
      });
    case "sessionEnd":
      return sessionEnded(hookEvent, ref, input);
    case "stop": {
      const status = typeof input.status === "string" ? input.status : "completed";
      return runStop(hookEvent, ref, false, CURSOR_STOP_EVENTS[status] ?? "RUN_COMPLETED", {
        status: clip(status, 32),
        loop_count: typeof input.loop_count === "number" ? input.loop_count : undefined,
      });
    }
    default:
      return { kind: "ignore", hookEvent, reason: `cursor hook ${hookEvent} is not handled` };
  }
}

/** Gemini CLI (geminicli.com/docs/hooks/reference): Claude-like payloads (session_id,
 * hook_event_name, tool_name, tool_input), its own event names. */
async function mapGemini(hookEvent: string, input: Payload, ref: RunRef): Promise<HookAction> {
  switch (hookEvent) {
    case "BeforeTool": {
      const command = toolCommand(input);
      if (!SHELL_TOOLS.gemini[String(input.tool_name)] || command === null) {
        return ignoreTool(hookEvent, input.tool_name);
      }
      return {
        kind: "approval",
        hookEvent,
        ...ref,
        command,
        shell: "sh",
        cwd: text(input.tool_input?.dir_path) || text(input.cwd),
        requestKey: await hashKey("gemini", ref, input.tool_name, input.tool_input),
        context: compact({
          hook_event_name: hookEvent,
          tool_name: input.tool_name,
          description: clip(input.tool_input?.description),
        }),
      };
    }
    case "AfterTool": {
      const command = toolCommand(input);
      if (!SHELL_TOOLS.gemini[String(input.tool_name)] || command === null) {
        return ignoreTool(hookEvent, input.tool_name);
      }
      return { kind: "after_command", hookEvent, ...ref, command };
    }
    case "SessionStart":
      return runEvent(hookEvent, ref, "RUN_STARTED", { source: clip(input.source, 64) });
    case "AfterAgent":
      return runStop(hookEvent, ref, input.stop_hook_active === true, "RUN_COMPLETED", {
        message: clip(input.prompt_response),
      });
    case "SessionEnd":
      return sessionEnded(hookEvent, ref, input);
    default:
      return { kind: "ignore", hookEvent, reason: `gemini hook ${hookEvent} is not handled` };
  }
}

/** Copilot CLI's toolArgs: an object, or (in older builds) the arguments as a JSON string. */
function copilotArgs(input: Payload): Payload {
  const args = input.toolArgs ?? input.tool_input;
  if (typeof args === "string") {
    try {
      const parsed = JSON.parse(args);
      return parsed && typeof parsed === "object" ? parsed : {};
    } catch {
      return {};
    }
  }
  return args && typeof args === "object" ? args : {};
}

/** GitHub Copilot CLI (docs.github.com/en/copilot/reference/copilot-cli-reference/
 * cli-hooks-reference): camelCase payloads, events named by the config key. */
async function mapCopilot(hookEvent: string, input: Payload, ref: RunRef): Promise<HookAction> {
  switch (hookEvent) {
    case "preToolUse": {
      const tool = String(input.toolName ?? input.tool_name ?? "");
      const args = copilotArgs(input);
      const command = typeof args.command === "string" && args.command.trim() !== ""
        ? args.command
        : null;
      const shell = SHELL_TOOLS.copilot[tool];
      if (!shell || command === null) {
        return ignoreTool(hookEvent, tool);
      }
      return {
        kind: "approval",
        hookEvent,
        ...ref,
        command,
        shell,
        cwd: text(input.cwd),
        requestKey: await hashKey("copilot", ref, tool, args),
        context: compact({
          hook_event_name: hookEvent,
          tool_name: tool,
          description: clip(args.description),
        }),
      };
    }
    case "sessionStart":
      return runEvent(hookEvent, ref, "RUN_STARTED", { source: clip(input.source, 64) });
    case "agentStop":
      return runStop(hookEvent, ref, false, "RUN_COMPLETED", {});
    case "sessionEnd": {
      const reason = typeof input.reason === "string" ? input.reason : "";
      return runEvent(hookEvent, ref, reason === "error" ? "RUN_FAILED" : "SESSION_ENDED", {
        reason: clip(reason, 64),
        message: reason === "error" ? "The agent session ended with an error" : undefined,
      });
    }
    default:
      return { kind: "ignore", hookEvent, reason: `copilot hook ${hookEvent} is not handled` };
  }
}

export interface Verdict {
  decision: "allow" | "deny" | "ask";
  /** the phone's note (an instruction for the agent), if any */
  note?: string | null;
  /** why: shown to the user */
  reason: string;
}

/** Where an allow note reaches the agent. Only Cursor's approval answer has a field the
 * model reads on allow (`agent_message`); everywhere else the note is remembered and handed
 * over by the next hook whose output the model reads: Claude Code / Codex `PostToolUse`
 * `additionalContext`, Gemini `AfterTool` `additionalContext`, and, failing that (or for
 * Copilot, whose command hooks cannot add context after a tool), the next stop. */
export function allowNoteInline(agent: Agent): boolean {
  return agent === "cursor";
}

/** The JSON the agent reads on stdout for an approval hook; "" means "no opinion" (the
 * agent's own permission flow goes on). Every shape is validated against the agent's
 * documented output schema in tests (tests/_helpers/hook_schemas.ts): no field the agent
 * does not know, since Codex discards an answer with an unknown field. */
export function approvalOutput(agent: Agent, hookEvent: string, verdict: Verdict): string {
  const note = verdict.note?.trim() ? verdict.note.trim() : null;
  const denyText = note ? `${verdict.reason}: ${note}` : verdict.reason;
  switch (agent) {
    case "cursor": {
      const out: Payload = { permission: verdict.decision, user_message: verdict.reason };
      if (note) out.agent_message = note;
      else if (verdict.decision === "deny") out.agent_message = verdict.reason;
      return JSON.stringify(out);
    }
    case "gemini":
      // `reason` is sent to the agent as the tool error on deny; "ask" makes Gemini confirm.
      return JSON.stringify({
        decision: verdict.decision,
        reason: verdict.decision === "deny" ? denyText : verdict.reason,
      });
    case "copilot":
      return JSON.stringify({
        permissionDecision: verdict.decision,
        permissionDecisionReason: verdict.decision === "deny" ? denyText : verdict.reason,
      });
  }
  if (hookEvent === "PermissionRequest") {
    // Only allow/deny exist here; "ask" leaves the dialog to the user. No note on allow:
    // Claude Code has no field for it and Codex rejects unknown fields.
    if (verdict.decision === "ask") return "";
    const decision: Payload = { behavior: verdict.decision };
    if (verdict.decision === "deny") decision.message = note ?? verdict.reason;
    return JSON.stringify({ hookSpecificOutput: { hookEventName: "PermissionRequest", decision } });
  }
  return JSON.stringify({
    hookSpecificOutput: {
      hookEventName: "PreToolUse",
      permissionDecision: verdict.decision,
      permissionDecisionReason: verdict.decision === "deny" ? denyText : verdict.reason,
    },
  });
}

/** The answer for a command that needs no approval: Cursor allows it; the others keep
 * their own permission rules (no output; Gemini `{}`, since it parses stdout as JSON). */
export function notRequiredOutput(agent: Agent): string {
  if (agent === "cursor") return JSON.stringify({ permission: "allow" });
  return agent === "gemini" ? "{}" : "";
}

/** The phone's notes on approved commands, as one message to the agent. */
export function approvalNoteMessage(notes: { command: string; note: string }[]): string {
  return notes.map((n) =>
    `Note from the developer on approving \`${
      n.command.length > 200 ? `${n.command.slice(0, 199)}…` : n.command
    }\` (sent from AgentOps): ${n.note}`
  ).join("\n");
}

/** The output of a hook that runs after a command (Claude Code / Codex `PostToolUse`,
 * Gemini `AfterTool`): the phone's note as context the model reads, or no opinion. */
export function afterCommandOutput(
  agent: Agent,
  hookEvent: string,
  message: string | null,
): string {
  if (!message) return agent === "gemini" ? "{}" : "";
  const eventName = agent === "gemini" ? "AfterTool" : hookEvent;
  return JSON.stringify({
    hookSpecificOutput: { hookEventName: eventName, additionalContext: message },
  });
}

/** The instructions as one message to the agent. */
function instructionMessage(texts: string[]): string {
  if (texts.length === 1) return `Instruction from the developer (sent from AgentOps): ${texts[0]}`;
  return `Instructions from the developer (sent from AgentOps), in order:\n${
    texts.map((t, i) => `${i + 1}. ${t}`).join("\n")
  }`;
}

/** The stop hook's output that hands messages (instructions, undelivered approval notes)
 * to the agent, or the agent's "let it stop" answer. */
export function stopOutput(agent: Agent, texts: string[], notes = ""): string {
  const parts = [texts.length > 0 ? instructionMessage(texts) : "", notes].filter(Boolean);
  if (parts.length === 0) return agent === "cursor" || agent === "gemini" ? "{}" : "";
  const message = parts.join("\n\n");
  if (agent === "cursor") return JSON.stringify({ followup_message: message });
  // Gemini AfterAgent: "deny" rejects the response and sends `reason` as a new prompt.
  if (agent === "gemini") return JSON.stringify({ decision: "deny", reason: message });
  return JSON.stringify({ decision: "block", reason: message });
}
