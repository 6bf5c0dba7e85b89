// `agentops install <agent>`: writes the runner's hooks into the agent's project config,
// idempotently (our entries are replaced, everyone else's kept), fail-closed where the
// agent supports it, with host timeouts above the approval TTL.
import type { Agent } from "./hooks.ts";
import { hostTimeoutSeconds, type Policy } from "./policy.ts";

/** Timeout of the hooks that only record events or collect instructions. */
export const EVENT_HOOK_TIMEOUT_SECONDS = 30;

// deno-lint-ignore no-explicit-any
type Json = Record<string, any>;

/** Our own entries, whatever path or launcher wrote them. */
const OURS = /(cli\.ts|agentops)["']?\s+hook\s+(claude-code|cursor|codex)\b/;

export function isOurs(command: unknown): boolean {
  return typeof command === "string" && OURS.test(command);
}

export interface InstallPlan {
  path: string;
  config: Json;
}

/** The hook command: `<launcher> hook <agent> --timeout <host seconds>`. */
export function hookCommand(launcher: string, agent: Agent, timeout: number): string {
  return `${launcher} hook ${agent} --timeout ${timeout}`;
}

/** How this CLI is started: a compiled binary runs itself, else `<deno> run -A <cli.ts>`
 * (the absolute deno path: the agent's shell may not have deno on its PATH). */
export function defaultLauncher(): string {
  const exec = Deno.execPath();
  const quote = (s: string) => /[\s"'$]/.test(s) ? JSON.stringify(s) : s;
  if (!/(^|\/)deno(\.exe)?$/.test(exec)) return quote(exec);
  const cli = new URL("./cli.ts", import.meta.url);
  return `${quote(exec)} run -A ${quote(cli.protocol === "file:" ? cli.pathname : cli.href)}`;
}

function claudeLikeHooks(
  existing: Json,
  entries: { event: string; matcher?: string; timeout: number; failClosed: boolean }[],
  command: (timeout: number) => string,
): Json {
  const hooks: Json = { ...(existing ?? {}) };
  for (const entry of entries) {
    const groups: Json[] = Array.isArray(hooks[entry.event]) ? hooks[entry.event] : [];
    const kept = groups
      .map((g) => ({
        ...g,
        hooks: Array.isArray(g.hooks) ? g.hooks.filter((h: Json) => !isOurs(h?.command)) : g.hooks,
      }))
      .filter((g) => !Array.isArray(g.hooks) || g.hooks.length > 0);
    const handler: Json = {
      type: "command",
      command: command(entry.timeout),
      timeout: entry.timeout,
    };
    if (entry.failClosed) handler.onFailure = "block";
    const group: Json = entry.matcher ? { matcher: entry.matcher, hooks: [handler] } : {
      hooks: [handler],
    };
    hooks[entry.event] = [...kept, group];
  }
  return hooks;
}

/** The config file and its new content for an agent, from the current content. */
export function planInstall(
  agent: Agent,
  current: Json | null,
  options: { policy: Policy; launcher: string; claudeLocal?: boolean },
): InstallPlan {
  const approvalTimeout = hostTimeoutSeconds(options.policy);
  const command = (timeout: number) => hookCommand(options.launcher, agent, timeout);
  const base: Json = current ?? {};
  if (agent === "cursor") {
    const hooks: Json = { ...(base.hooks ?? {}) };
    const add = (event: string, timeout: number, failClosed: boolean) => {
      const kept = (Array.isArray(hooks[event]) ? hooks[event] : []).filter((h: Json) =>
        !isOurs(h?.command)
      );
      const entry: Json = { command: command(timeout), timeout };
      if (failClosed) entry.failClosed = true;
      hooks[event] = [...kept, entry];
    };
    add("beforeShellExecution", approvalTimeout, true);
    for (const event of ["afterShellExecution", "sessionStart", "sessionEnd", "stop"]) {
      add(event, EVENT_HOOK_TIMEOUT_SECONDS, false);
    }
    return { path: ".cursor/hooks.json", config: { ...base, version: 1, hooks } };
  }
  const event = (name: string, matcher?: string) => ({
    event: name,
    matcher,
    timeout: EVENT_HOOK_TIMEOUT_SECONDS,
    failClosed: false,
  });
  const approval = (name: string) => ({
    event: name,
    matcher: "Bash",
    timeout: approvalTimeout,
    failClosed: true,
  });
  if (agent === "codex") {
    return {
      path: ".codex/hooks.json",
      config: {
        ...base,
        hooks: claudeLikeHooks(base.hooks, [
          approval("PermissionRequest"),
          event("SessionStart"),
          event("Stop"),
        ], command),
      },
    };
  }
  return {
    path: options.claudeLocal ? ".claude/settings.local.json" : ".claude/settings.json",
    config: {
      ...base,
      hooks: claudeLikeHooks(base.hooks, [
        approval("PreToolUse"),
        approval("PermissionRequest"),
        event("SessionStart"),
        event("Stop"),
        event("StopFailure"),
        event("Notification"),
        event("SessionEnd"),
      ], command),
    },
  };
}

/** Reads the agent's config, writes ours in, and returns the path written. A config that
 * is not valid JSON is left untouched (an error), never overwritten. */
export async function install(
  project: string,
  agent: Agent,
  options: { policy: Policy; launcher?: string; claudeLocal?: boolean },
): Promise<string> {
  const probe = planInstall(agent, null, { ...options, launcher: options.launcher ?? "" });
  const path = `${project}/${probe.path}`;
  let current: Json | null = null;
  try {
    const text = await Deno.readTextFile(path);
    if (text.trim() !== "") {
      current = JSON.parse(text);
      if (current === null || typeof current !== "object" || Array.isArray(current)) {
        throw new SyntaxError("not a JSON object");
      }
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) {
      throw new Error(`Cannot install into ${path}: ${(error as Error).message}; fix it first`);
    }
  }
  const plan = planInstall(agent, current, {
    ...options,
    launcher: options.launcher ?? defaultLauncher(),
  });
  await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  const tmp = `${path}.${crypto.randomUUID()}.tmp`;
  await Deno.writeTextFile(tmp, JSON.stringify(plan.config, null, 2) + "\n");
  await Deno.rename(tmp, path);
  return path;
}
