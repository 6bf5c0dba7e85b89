// What each agent's hook payload asks of the runner (an approval, a run event, a stop
// that may collect instructions), and the agent's own output JSON for each answer.
// Payload fields follow the agents' documentation; unknown fields are ignored.
import { sha256Hex } from "../shared/signing.ts";
import { toRunId } from "./run_id.ts";

export type Agent = "claude-code" | "cursor" | "codex";
export const AGENTS: readonly Agent[] = ["claude-code", "cursor", "codex"];

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
    cwd: string;
    requestKey: string;
    context: Record<string, unknown>;
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
    : input.session_id ?? input.conversation_id;
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

/** The action a hook payload asks for. */
export async function mapHook(agent: Agent, input: Payload): Promise<HookAction> {
  const hookEvent = String(input.hook_event_name ?? "");
  const ref = await runRef(agent, input);
  if (agent === "cursor") return mapCursor(hookEvent, input, ref);
  return await mapClaudeLike(agent, hookEvent, input, ref);
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
      if (input.tool_name !== "Bash" || command === null) {
        return { kind: "ignore", hookEvent, reason: `tool ${input.tool_name} is not a command` };
      }
      const requestKey = hookEvent === "PreToolUse" && typeof input.tool_use_id === "string"
        ? input.tool_use_id.slice(0, 200)
        : `${agent}:perm:${await sha256Hex(
          JSON.stringify([ref.providerRunId, input.tool_name, input.tool_input]),
        )}`;
      return {
        kind: "approval",
        hookEvent,
        ...ref,
        command,
        cwd: typeof input.cwd === "string" ? input.cwd : "",
        requestKey,
        context: compact({
          hook_event_name: hookEvent,
          tool_name: input.tool_name,
          description: clip(input.tool_input?.description),
          permission_mode: clip(input.permission_mode, 64),
        }),
      };
    }
    case "SessionStart":
      return {
        kind: "event",
        hookEvent,
        ...ref,
        eventType: "RUN_STARTED",
        payload: compact({ source: clip(input.source, 64), model: clip(input.model, 128) }),
      };
    case "Stop":
      return {
        kind: "stop",
        hookEvent,
        ...ref,
        stopHookActive: input.stop_hook_active === true,
        eventType: "RUN_COMPLETED",
        payload: compact({ message: clip(input.last_assistant_message) }),
      };
    case "StopFailure":
      return {
        kind: "event",
        hookEvent,
        ...ref,
        eventType: "RUN_FAILED",
        payload: compact({
          message: clip(input.error_message ?? input.error ?? input.last_assistant_message) ??
            "The agent stopped with an error",
          error: clip(typeof input.error === "string" ? input.error : undefined, 128),
        }),
      };
    case "Notification":
      return {
        kind: "event",
        hookEvent,
        ...ref,
        eventType: "NOTIFICATION",
        payload: compact({
          message: clip(input.message),
          title: clip(input.title, 200),
          notification_type: clip(input.notification_type, 64),
        }),
      };
    case "SessionEnd":
      return {
        kind: "event",
        hookEvent,
        ...ref,
        eventType: "SESSION_ENDED",
        payload: compact({ reason: clip(input.reason, 64) }),
      };
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
        cwd: typeof input.cwd === "string" ? input.cwd : "",
        requestKey: `cursor:${generation.slice(0, 100)}:${(await sha256Hex(command)).slice(0, 32)}`,
        context: compact({ hook_event_name: hookEvent, model: clip(input.model, 128) }),
      };
    }
    case "afterShellExecution":
      return {
        kind: "event",
        hookEvent,
        ...ref,
        eventType: "COMMAND_EXECUTED",
        payload: compact({
          command: clip(input.command, 2000),
          duration_ms: typeof input.duration === "number" ? input.duration : undefined,
        }),
      };
    case "sessionStart":
      return {
        kind: "event",
        hookEvent,
        ...ref,
        eventType: "RUN_STARTED",
        payload: compact({ model: clip(input.model, 128), source: clip(input.source, 64) }),
      };
    case "sessionEnd":
      return {
        kind: "event",
        hookEvent,
        ...ref,
        eventType: "SESSION_ENDED",
        payload: compact({ reason: clip(input.reason, 64) }),
      };
    case "stop": {
      const status = typeof input.status === "string" ? input.status : "completed";
      return {
        kind: "stop",
        hookEvent,
        ...ref,
        stopHookActive: false,
        eventType: CURSOR_STOP_EVENTS[status] ?? "RUN_COMPLETED",
        payload: compact({
          status: clip(status, 32),
          loop_count: typeof input.loop_count === "number" ? input.loop_count : undefined,
        }),
      };
    }
    default:
      return { kind: "ignore", hookEvent, reason: `cursor hook ${hookEvent} is not handled` };
  }
}

export interface Verdict {
  decision: "allow" | "deny" | "ask";
  /** the phone's note (an instruction for the agent), if any */
  note?: string | null;
  /** why: shown to the user */
  reason: string;
}

/** The JSON the agent reads on stdout for an approval hook; "" means "no opinion" (the
 * agent's own permission flow goes on). */
export function approvalOutput(agent: Agent, hookEvent: string, verdict: Verdict): string {
  const note = verdict.note?.trim() ? verdict.note.trim() : null;
  if (agent === "cursor") {
    const out: Payload = { permission: verdict.decision, user_message: verdict.reason };
    if (note) out.agent_message = note;
    else if (verdict.decision === "deny") out.agent_message = verdict.reason;
    return JSON.stringify(out);
  }
  if (hookEvent === "PermissionRequest") {
    // Only allow/deny exist here; "ask" leaves the dialog to the user.
    if (verdict.decision === "ask") return "";
    const decision: Payload = { behavior: verdict.decision };
    if (verdict.decision === "deny") decision.message = note ?? verdict.reason;
    const out: Payload = { hookEventName: "PermissionRequest", decision };
    if (verdict.decision === "allow" && note) out.additionalContext = note;
    return JSON.stringify({ hookSpecificOutput: out });
  }
  const out: Payload = {
    hookEventName: "PreToolUse",
    permissionDecision: verdict.decision,
    permissionDecisionReason: verdict.decision === "deny" && note
      ? `${verdict.reason}: ${note}`
      : verdict.reason,
  };
  if (verdict.decision === "allow" && note) out.additionalContext = note;
  return JSON.stringify({ hookSpecificOutput: out });
}

/** The answer for a command that needs no approval: Cursor allows it; Claude Code and
 * Codex keep their own permission rules (no output). */
export function notRequiredOutput(agent: Agent): string {
  return agent === "cursor" ? JSON.stringify({ permission: "allow" }) : "";
}

/** The instructions as one message to the agent. */
export function instructionMessage(texts: string[]): string {
  if (texts.length === 1) return `Instruction from the developer (sent from AgentOps): ${texts[0]}`;
  return `Instructions from the developer (sent from AgentOps), in order:\n${
    texts.map((t, i) => `${i + 1}. ${t}`).join("\n")
  }`;
}

/** The stop hook's output that hands instructions to the agent, or "" to let it stop. */
export function stopOutput(agent: Agent, texts: string[]): string {
  if (texts.length === 0) return agent === "cursor" ? "{}" : "";
  const message = instructionMessage(texts);
  if (agent === "cursor") return JSON.stringify({ followup_message: message });
  return JSON.stringify({ decision: "block", reason: message });
}
