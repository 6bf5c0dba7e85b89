// `agentops hook <agent>`: one hook invocation. Reads the agent's payload, asks the phone
// when the policy says so, hands queued instructions over at a stop, records run events,
// and answers in the agent's own output JSON. It never throws at the agent: every failure
// ends in the policy's fallback, and its own deadline stays under the host's timeout.
// Time budget: a hook that asks nobody (events, stops, after-command) spends at most
// NON_APPROVAL_BUDGET_MS on the backend (events wait in the on-disk queue otherwise); an
// approval hook gives up on a backend that stops answering after a bounded number of
// per-call timeouts and answers its fallback.
import {
  afterCommandOutput,
  type Agent,
  allowNoteInline,
  approvalNoteMessage,
  approvalOutput,
  type HookAction,
  mapHook,
  notRequiredOutput,
  stopOutput,
  type Verdict,
} from "./hooks.ts";
import { isOurs } from "./ours.ts";
import { rememberNote, takeNotes } from "./notes.ts";
import type { Fallback, Policy } from "./policy.ts";
import { AgentOpsClient, ApiError, type BridgeEvent, UnreachableError } from "./sdk.ts";
import { EventQueue } from "./queue.ts";
import { lazy } from "./lazy.ts";
import { backendUrl, type Credentials, loadCredentials, policyPath, queueDir } from "./project.ts";

interface HookResult {
  stdout: string;
  exitCode: number;
  /** one line for the log / stderr */
  note: string;
}

interface RunHookOptions {
  project: string;
  /** the host's timeout for this hook, in seconds (as `agentops install` wrote it) */
  hostTimeoutSeconds?: number;
  /** seconds kept between the runner's deadline and the host's timeout */
  marginSeconds?: number;
  /** the hook event, for agents whose payload does not name it (Copilot CLI) */
  event?: string;
}

/** What a hook that asks nobody may spend on the backend; with process start and disk
 * work it answers well within 2 s whatever the backend does. AGENTOPS_HOOK_BUDGET_MS
 * overrides it (the e2e tests give a loaded test machine more). */
const NON_APPROVAL_BUDGET_MS = 1_000;

function budgetMs(): number {
  const fromEnv = Number(Deno.env.get("AGENTOPS_HOOK_BUDGET_MS"));
  return Number.isFinite(fromEnv) && fromEnv > 0 ? fromEnv : NON_APPROVAL_BUDGET_MS;
}
const EVENT_RETRY = { attempts: 2, timeoutMs: 800, baseDelayMs: 50 };
/** Creating an approval: 2 attempts, of at most 4 s and 8 s (plus a short backoff): a
 * backend that answers this small POST in neither is taken as gone. */
const APPROVAL_CALL = { attempts: 2, timeoutMs: 4_000 };
/** Long-poll length; a poll that gets no answer by this + 5 s is a failure, and 2 failures
 * in a row end the wait with the `unreachable` fallback. */
const DEFAULT_POLL_SECONDS = 25;

function stepAside(agent: Agent, note: string): HookResult {
  return { stdout: agent === "cursor" || agent === "gemini" ? "{}" : "", exitCode: 0, note };
}

function fallbackVerdict(decision: Fallback, why: string): Verdict {
  return { decision, reason: `AgentOps: ${why}; policy answers ${decision}` };
}

const APPROVAL_HOOKS = new Set([
  "PreToolUse",
  "PermissionRequest",
  "beforeShellExecution",
  "BeforeTool",
  "preToolUse",
]);

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
      hookEvent = String(JSON.parse(raw)?.hook_event_name ?? options.event ?? "");
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
  const action = await mapHook(agent, input, options.event);
  if (
    agent === "claude-code" && action.kind !== "ignore" &&
    (typeof input.cursor_version === "string" || Deno.env.get("CURSOR_VERSION")) &&
    await cursorHooksInstalled(options.project)
  ) {
    // Cursor also runs .claude/settings*.json hooks; our own Cursor hooks already gate
    // this project, so the Claude copy steps aside instead of asking the phone twice.
    return stepAside(agent, "Cursor running Claude Code's hooks: the Cursor hooks gate this");
  }
  if (action.kind === "after_command") {
    // Disk only, no backend: hands over the phone's note on this command, if any.
    const notes = await takeNotes(options.project, {
      agent,
      session: action.providerRunId,
      command: action.command,
    });
    const message = notes.length > 0 ? approvalNoteMessage(notes) : null;
    return {
      stdout: afterCommandOutput(agent, action.hookEvent, message),
      exitCode: 0,
      note: message ? "handed the approval note to the agent" : "no note",
    };
  }
  // The policy (and its validator) loads only when a hook may need it: the hooks that
  // ask nobody stay light.
  if (action.kind !== "approval") return await runWithoutPolicy(agent, action, options, started);
  const { loadPolicy } = await lazy<typeof import("./policy.ts")>(
    new URL("./policy.ts", import.meta.url),
  );
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
  return await handleApproval(agent, action, {
    policy,
    client,
    queue,
    deadline,
    project: options.project,
  });
}

/** The hooks that ask nobody, with a short backend budget. */
async function runWithoutPolicy(
  agent: Agent,
  action: Exclude<HookAction, { kind: "approval" | "after_command" }>,
  options: RunHookOptions,
  started: number,
): Promise<HookResult> {
  const credentials = await loadCredentials(options.project).catch(() => null);
  const client = credentials ? clientFor(credentials, started + budgetMs()) : null;
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
      return await handleStop(agent, action, { queue, client, project: options.project });
  }
}

/** True when this project's .cursor/hooks.json runs our Cursor approval hook. */
async function cursorHooksInstalled(project: string): Promise<boolean> {
  try {
    const config = JSON.parse(await Deno.readTextFile(`${project}/.cursor/hooks.json`));
    const entries = config?.hooks?.beforeShellExecution;
    return Array.isArray(entries) && entries.some((e) => isOurs(e?.command));
  } catch {
    return false;
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
  queue.enqueue(toEvent(agent, action, action.eventType));
  if (client) await queue.flush(client, EVENT_RETRY).catch(() => {});
}

async function handleStop(
  agent: Agent,
  action: Extract<HookAction, { kind: "stop" }>,
  ctx: { queue: EventQueue; client: AgentOpsClient | null; project: string },
): Promise<HookResult> {
  const { queue, client } = ctx;
  // Never loop: when the agent is already continuing because of a stop hook, let it stop;
  // instructions and notes queued meanwhile wait for the next stop.
  if (!action.stopHookActive) {
    // Approval notes no PostToolUse / AfterTool handed over (a failed command, Copilot).
    const notes = await takeNotes(ctx.project, { agent, session: action.providerRunId });
    const noteText = notes.length > 0 ? approvalNoteMessage(notes) : "";
    let texts: string[] = [];
    if (client) {
      // Instructions first (someone is waiting for them); queued events can wait.
      try {
        texts = (await client.collectInstructions(action.runId, EVENT_RETRY)).map((i) => i.text);
      } catch {
        // unreachable: nothing to hand over now; the run event is queued below
      }
      await queue.flush(client, EVENT_RETRY).catch(() => {});
    }
    if (texts.length > 0 || noteText) {
      return {
        stdout: stopOutput(agent, texts, noteText),
        exitCode: 0,
        note: `handed ${texts.length} instruction(s) and ${notes.length} note(s) to the agent`,
      };
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
  const decided = async (verdict: Verdict): Promise<HookResult> => {
    const note = verdict.note?.trim();
    if (verdict.decision === "allow" && note && !allowNoteInline(agent)) {
      // No field for it in this answer: a later hook of the session hands it over.
      await rememberNote(ctx.project, {
        agent,
        session: action.providerRunId,
        command: action.command,
      }, note);
    }
    return answer(verdict);
  };
  const { evaluateCommand } = await lazy<typeof import("./policy.ts")>(
    new URL("./policy.ts", import.meta.url),
  );
  const judged = await evaluateCommand(policy, action.command, { cwd: action.cwd || undefined });
  const rule = judged.reason;
  if (!judged.needsApproval) {
    return { stdout: notRequiredOutput(agent), exitCode: 0, note: "no approval needed" };
  }
  if (!client) {
    return answer(fallbackVerdict(policy.fallback.no_device, "this project is not paired"));
  }
  // The phone's rules (issue 15) answer what they decide, without asking the phone. Loaded
  // only now: a hook that asks nobody (an event, a command outside the policy) never needs them.
  const [{ applyRules, markRulesStale }, { normalizeCommand }] = await Promise.all([
    lazy<typeof import("./rules.ts")>(new URL("./rules.ts", import.meta.url)),
    lazy<typeof import("../shared/shell_commands.ts")>(
      new URL("../shared/shell_commands.ts", import.meta.url),
    ),
  ]);
  const ruled = await applyRules(ctx.project, {
    agent,
    action,
    client,
    queue: ctx.queue,
    isReadOnly: (words) => judged.readOnly.includes(normalizeCommand(words)),
    mayAllow: judged.ruleMayAllow,
  });
  if (ruled) return answer(ruled);
  // Deliver queued events first, so the run's timeline starts where it should (within the
  // short budget: a slow backend must not eat the approval's time).
  const flushBefore = client.deadline;
  client.deadline = Math.min(ctx.deadline, Date.now() + budgetMs());
  await ctx.queue.flush(client, EVENT_RETRY).catch(() => {});
  client.deadline = flushBefore;
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
      }, APPROVAL_CALL);
      approvalId = created.approval_id;
      const lapsed = created.status === "EXPIRED" ||
        (created.status === "PENDING" && Date.parse(created.expires_at) <= Date.now());
      if (created.status === "PENDING" && !lapsed) break;
      if (!lapsed) {
        const state = await client.waitForApproval(approvalId, {
          deadline: ctx.deadline,
          maxFailures: 2,
        });
        return await decided(verdictFor(state.status, state.note, policy));
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
      maxPollSeconds: Number(Deno.env.get("AGENTOPS_WAIT_POLL_SECONDS") ?? DEFAULT_POLL_SECONDS),
      maxFailures: 2,
    });
    if (state.status !== "PENDING") await markRulesStale(ctx.project);
    return await decided(verdictFor(state.status, state.note, policy));
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
