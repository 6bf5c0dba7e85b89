// `agentops hook <agent>`: one hook invocation. Reads the agent's payload, asks the phone
// when the policy says so, hands queued instructions over at a stop, records run events,
// and answers in the agent's own output JSON. It never throws at the agent: every failure
// ends in the policy's fallback, and its own deadline stays under the host's timeout.
import {
  type Agent,
  approvalOutput,
  type HookAction,
  mapHook,
  notRequiredOutput,
  stopOutput,
  type Verdict,
} from "./hooks.ts";
import { evaluateCommand, type Fallback, loadPolicy, type Policy } from "./policy.ts";
import { AgentOpsClient, ApiError, type BridgeEvent, UnreachableError } from "./sdk.ts";
import { EventQueue } from "./queue.ts";
import { applyRules, markRulesStale } from "./rules.ts";
import { normalizeCommand } from "../shared/shell_commands.ts";
import { backendUrl, type Credentials, loadCredentials, policyPath, queueDir } from "./project.ts";

export interface HookResult {
  stdout: string;
  exitCode: number;
  /** one line for the log / stderr */
  note: string;
}

export interface RunHookOptions {
  project: string;
  /** the host's timeout for this hook, in seconds (as `agentops install` wrote it) */
  hostTimeoutSeconds?: number;
  /** seconds kept between the runner's deadline and the host's timeout */
  marginSeconds?: number;
}

const EVENT_RETRY = { attempts: 2, timeoutMs: 3_000, baseDelayMs: 100 };

function stepAside(agent: Agent, note: string): HookResult {
  return { stdout: agent === "cursor" ? "{}" : "", exitCode: 0, note };
}

function fallbackVerdict(decision: Fallback, why: string): Verdict {
  return { decision, reason: `AgentOps: ${why}; policy answers ${decision}` };
}

const APPROVAL_HOOKS = new Set(["PreToolUse", "PermissionRequest", "beforeShellExecution"]);

/** Runs one hook. It does not throw: an unexpected failure (a full disk, a bug) answers an
 * approval hook with "ask" (the agent asks locally) and lets any other hook pass, since a
 * crashed hook fails open. */
export async function runHook(
  agent: Agent,
  raw: string,
  options: RunHookOptions,
): Promise<HookResult> {
  try {
    return await runHookUnguarded(agent, raw, options);
  } catch (error) {
    const why = `the hook runner failed (${(error as Error)?.message ?? error})`;
    let hookEvent = "";
    try {
      hookEvent = String(JSON.parse(raw)?.hook_event_name ?? "");
    } catch { /* unreadable: step aside */ }
    if (APPROVAL_HOOKS.has(hookEvent)) {
      const verdict = fallbackVerdict("ask", why);
      return { stdout: approvalOutput(agent, hookEvent, verdict), exitCode: 0, note: why };
    }
    return stepAside(agent, why);
  }
}

async function runHookUnguarded(
  agent: Agent,
  raw: string,
  options: RunHookOptions,
): Promise<HookResult> {
  const started = Date.now();
  const hostTimeout = options.hostTimeoutSeconds ?? 330;
  const deadline = started + Math.max(5, hostTimeout - (options.marginSeconds ?? 5)) * 1000;
  if (raw.trim() === "") {
    // Seen on some remote workspaces (Cursor): no payload, so no opinion.
    return stepAside(agent, "empty stdin: stepping aside");
  }
  let input: Record<string, unknown>;
  try {
    const parsed = JSON.parse(raw);
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
      throw new Error("not an object");
    }
    input = parsed;
  } catch (error) {
    return stepAside(agent, `unreadable payload (${(error as Error).message}): stepping aside`);
  }
  const action = await mapHook(agent, input);
  let policy: Policy;
  try {
    policy = await loadPolicy(policyPath(options.project));
  } catch (error) {
    // A broken policy must not open the gate: every command then needs the fallback.
    if (action.kind === "approval") {
      const verdict = fallbackVerdict("deny", (error as Error).message);
      return {
        stdout: approvalOutput(agent, action.hookEvent, verdict),
        exitCode: 0,
        note: verdict.reason,
      };
    }
    return stepAside(agent, (error as Error).message);
  }
  const credentials = await loadCredentials(options.project).catch(() => null);
  const client = credentials ? clientFor(credentials, deadline) : null;
  const queue = new EventQueue(queueDir(options.project));

  switch (action.kind) {
    case "ignore":
      return agent === "cursor" && action.hookEvent === "beforeShellExecution"
        ? { stdout: notRequiredOutput(agent), exitCode: 0, note: action.reason }
        : stepAside(agent, action.reason);
    case "event":
      await recordEvent(agent, action, queue, client);
      return stepAside(agent, `${action.eventType} recorded`);
    case "stop":
      return await handleStop(agent, action, queue, client);
    case "approval":
      return await handleApproval(agent, action, {
        policy,
        client,
        queue,
        deadline,
        project: options.project,
      });
  }
}

function clientFor(credentials: Credentials, deadline: number): AgentOpsClient {
  return new AgentOpsClient({
    baseUrl: backendUrl(credentials),
    workspaceId: credentials.workspace_id,
    secret: credentials.bridge_secret,
    deadline,
  });
}

function toEvent(agent: Agent, action: Extract<HookAction, { runId: string }>, type: string) {
  const event: BridgeEvent = {
    run_id: action.runId,
    provider: agent,
    event_type: type,
    event_ts: new Date().toISOString(),
    payload: "payload" in action ? action.payload : {},
    event_id: crypto.randomUUID(),
    provider_run_id: action.providerRunId.slice(0, 200),
  };
  return event;
}

/** Queues the event on disk, then delivers the queue (this event and any left from when
 * the backend was down). Without credentials events stay queued until `agentops pair`. */
async function recordEvent(
  agent: Agent,
  action: Extract<HookAction, { kind: "event" | "stop" }>,
  queue: EventQueue,
  client: AgentOpsClient | null,
): Promise<void> {
  await queue.enqueue(toEvent(agent, action, action.eventType));
  if (client) await queue.flush(client, EVENT_RETRY).catch(() => {});
}

async function handleStop(
  agent: Agent,
  action: Extract<HookAction, { kind: "stop" }>,
  queue: EventQueue,
  client: AgentOpsClient | null,
): Promise<HookResult> {
  // Never loop: when Claude Code is already continuing because of a stop hook, let it stop;
  // instructions queued meanwhile wait for the next stop.
  if (client && !action.stopHookActive) {
    await queue.flush(client, EVENT_RETRY).catch(() => {});
    try {
      const instructions = await client.collectInstructions(action.runId, {
        attempts: 2,
        timeoutMs: 5_000,
      });
      if (instructions.length > 0) {
        return {
          stdout: stopOutput(agent, instructions.map((i) => i.text)),
          exitCode: 0,
          note: `handed ${instructions.length} instruction(s) to the agent`,
        };
      }
    } catch {
      // unreachable: nothing to hand over now; the run event is queued below
    }
  }
  await recordEvent(agent, action, queue, client);
  return { stdout: stopOutput(agent, []), exitCode: 0, note: `${action.eventType} recorded` };
}

async function handleApproval(
  agent: Agent,
  action: Extract<HookAction, { kind: "approval" }>,
  ctx: {
    policy: Policy;
    client: AgentOpsClient | null;
    queue: EventQueue;
    deadline: number;
    project: string;
  },
): Promise<HookResult> {
  const { policy, client } = ctx;
  const answer = (verdict: Verdict): HookResult => ({
    stdout: approvalOutput(agent, action.hookEvent, verdict),
    exitCode: 0,
    note: verdict.reason,
  });
  const judged = await evaluateCommand(policy, action.command, { cwd: action.cwd || undefined });
  const rule = judged.reason;
  if (!judged.needsApproval) {
    return { stdout: notRequiredOutput(agent), exitCode: 0, note: "no approval needed" };
  }
  if (!client) {
    return answer(fallbackVerdict(policy.fallback.no_device, "this project is not paired"));
  }
  // The phone's rules (issue 15) answer what they decide, without asking the phone.
  const ruled = await applyRules(ctx.project, {
    agent,
    action,
    client,
    queue: ctx.queue,
    isReadOnly: (words) => judged.readOnly.includes(normalizeCommand(words)),
    mayAllow: judged.ruleMayAllow,
  });
  if (ruled) return answer(ruled);
  // Deliver queued events first, so the run's timeline starts where it should.
  await ctx.queue.flush(client, EVENT_RETRY).catch(() => {});
  let approvalId = "";
  try {
    // The same request_key answers with the approval it already made (a retried hook).
    // When that one expired undecided (a PermissionRequest key covers every identical
    // command of the session), ask again under a key derived from the expired one.
    let requestKey = action.requestKey;
    for (let hop = 0; hop < 3; hop++) {
      const created = await client.requestApproval({
        run_id: action.runId,
        command: action.command,
        cwd: action.cwd,
        context: { ...action.context, rule },
        expires_in_seconds: policy.approval_ttl_seconds,
        provider: agent,
        request_key: requestKey,
      });
      approvalId = created.approval_id;
      const lapsed = created.status === "EXPIRED" ||
        (created.status === "PENDING" && Date.parse(created.expires_at) <= Date.now());
      if (created.status === "PENDING" && !lapsed) break;
      if (!lapsed) {
        const state = await client.waitForApproval(approvalId, { deadline: ctx.deadline });
        return answer(verdictFor(state.status, state.note, policy));
      }
      requestKey = `${action.requestKey.slice(0, 150)}:after:${created.approval_id}`;
    }
  } catch (error) {
    if (error instanceof ApiError && error.code === "no_device") {
      return answer(fallbackVerdict(policy.fallback.no_device, "no phone is paired"));
    }
    const why = error instanceof UnreachableError
      ? "the backend cannot be reached"
      : `the backend refused the approval request (${(error as Error).message})`;
    return answer(fallbackVerdict(policy.fallback.unreachable, why));
  }
  try {
    const state = await client.waitForApproval(approvalId, {
      deadline: ctx.deadline,
      maxPollSeconds: Number(Deno.env.get("AGENTOPS_WAIT_POLL_SECONDS") ?? 90),
    });
    if (state.status !== "PENDING") await markRulesStale(ctx.project);
    return answer(verdictFor(state.status, state.note, policy));
  } catch {
    return answer(
      fallbackVerdict(policy.fallback.unreachable, "the backend stopped answering"),
    );
  }
}

function verdictFor(status: string, note: string | null, policy: Policy): Verdict {
  switch (status) {
    case "APPROVED":
      return { decision: "allow", note, reason: "Approved on your phone (AgentOps)" };
    case "DENIED":
      return { decision: "deny", note, reason: "Denied on your phone (AgentOps)" };
    case "EXPIRED":
      return fallbackVerdict(policy.fallback.timeout, "the approval expired undecided");
    default:
      return fallbackVerdict(policy.fallback.timeout, "no decision before the hook's deadline");
  }
}
