// `agentops install <agent>` / `agentops uninstall <agent>`: writes the runner's hooks into
// the agent's project config and takes them out again. Install cannot fail open:
// - the command is POSIX-quoted, never URL-encoded, so spaces and quotes in paths survive
//   the host's `sh -c` / `bash -c`;
// - approval hooks end in `|| exit 2` with a message: when the runner cannot even start,
//   every agent that documents exit 2 blocks the command instead of letting it through;
// - no machine-specific path in a file meant to be committed: the command is `agentops …`
//   when `agentops` is on PATH; otherwise it is the absolute, quoted command, written only
//   to a local-only file (Claude Code's settings.local.json) or to a file kept out of git
//   by .git/info/exclude (refused when git already tracks the file);
// - only keys each agent documents (no `onFailure`, which Codex and Claude Code do not have);
// - idempotent: our entries are replaced, everyone else's kept; uninstall removes exactly
//   what install wrote (recorded in .agentops/installed.json).
import type { Agent } from "./hooks.ts";
import { hostTimeoutSeconds, type Policy } from "./policy.ts";
import { agentopsDir } from "./project.ts";
import { installedPackage } from "./launcher.ts";

/** Timeout of the hooks that only record events, hand notes over or collect instructions. */
const EVENT_HOOK_TIMEOUT_SECONDS = 10;

// deno-lint-ignore no-explicit-any
type Json = Record<string, any>;

import { isOurs } from "./ours.ts";
export { isOurs };

/** One argument for a POSIX shell: bare when it is plainly safe, else single-quoted. */
export function shellQuote(arg: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** Where the approval hook's failure to start becomes a block (exit 2: Claude Code,
 * Codex, Gemini CLI; Cursor has failClosed, Copilot CLI skips failed hooks). */
const BLOCK_ON_FAILURE =
  `|| { echo 'AgentOps: the hook runner could not run; blocking this command' >&2; exit 2; }`;

/** The hook command: `<launcher> hook <agent> [--event e] --timeout <host seconds>`. */
function hookCommand(
  launcher: string,
  agent: Agent,
  options: { timeout: number; event?: string; failClosed?: boolean },
): string {
  const event = options.event ? ` --event ${shellQuote(options.event)}` : "";
  const command = `${launcher} hook ${agent}${event} --timeout ${options.timeout}`;
  return options.failClosed ? `${command} ${BLOCK_ON_FAILURE}` : command;
}

export interface Launcher {
  /** the command prefix, already quoted for a POSIX shell */
  command: string;
  /** true when it names no path on this machine (`agentops` found on PATH) */
  portable: boolean;
}

/** Finds an executable named `name` on PATH. */
function onPath(name: string, path = Deno.env.get("PATH") ?? ""): string | null {
  for (const dir of path.split(":")) {
    if (!dir) continue;
    try {
      const info = Deno.statSync(`${dir}/${name}`);
      if (info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0) return `${dir}/${name}`;
    } catch { /* not here */ }
  }
  return null;
}

/** How the hooks start this CLI: `agentops` when it is on PATH (portable, fine in a
 * committed file); else the npm package's own command (its bin, or npx from the npx cache:
 * under Node, Deno.execPath() is node's path, and a hook calling plain `node` would run
 * nothing); else a compiled binary runs itself, else `<deno> run -A <cli.ts>`, both
 * absolute (the agent's shell may not have deno on PATH) and quoted. */
export function defaultLauncher(): Launcher {
  if (onPath("agentops")) return { command: "agentops", portable: true };
  const pkg = installedPackage();
  if (pkg) return launcherFrom(pkg.launcher);
  const exec = Deno.execPath();
  if (!/(^|\/)deno(\.exe)?$/.test(exec)) return { command: shellQuote(exec), portable: false };
  const cli = new URL("./cli.ts", import.meta.url);
  // fromFileUrl semantics: a path with a space is `%20` in the URL, never in the command.
  const path = cli.protocol === "file:" ? decodeURIComponent(cli.pathname) : cli.href;
  return { command: `${shellQuote(exec)} run -A ${shellQuote(path)}`, portable: false };
}

/** A launcher given with --launcher: portable when it is a bare command name. */
function launcherFrom(command: string): Launcher {
  return { command, portable: /^[A-Za-z0-9_.-]+(\s|$)/.test(command.trim()) };
}

interface Entry {
  event: string;
  matcher?: string;
  timeout: number;
  approval: boolean;
}

interface InstallPlan {
  /** the config file, relative to the project */
  path: string;
  /** the new config */
  config: Json;
  /** false when the file may be committed (then the command must be portable) */
  localOnly: boolean;
}

function claudeLikeHooks(
  existing: Json | undefined,
  entries: Entry[],
  handler: (entry: Entry) => Json,
): Json {
  const hooks: Json = { ...(existing ?? {}) };
  for (const entry of entries) {
    const kept = withoutOurs(hooks[entry.event]);
    const group: Json = entry.matcher
      ? { matcher: entry.matcher, hooks: [handler(entry)] }
      : { hooks: [handler(entry)] };
    hooks[entry.event] = [...kept, group];
  }
  return hooks;
}

/** A Claude-style event's groups without our handlers (groups left empty are dropped). */
function withoutOurs(groups: unknown): Json[] {
  if (!Array.isArray(groups)) return [];
  return groups
    .map((g) =>
      Array.isArray(g?.hooks)
        ? { ...g, hooks: g.hooks.filter((h: Json) => !isOurs(h?.command)) }
        : g
    )
    .filter((g) => !Array.isArray(g?.hooks) || g.hooks.length > 0);
}

const SHELL_MATCHER = "Bash|PowerShell";

/** The config file and its new content for an agent, from the current content. */
function planInstall(
  agent: Agent,
  current: Json | null,
  options: { policy: Policy; launcher: string; shared?: boolean },
): InstallPlan {
  const approvalTimeout = hostTimeoutSeconds(options.policy);
  const base: Json = current ?? {};
  const command = (entry: Entry, event?: string) =>
    hookCommand(options.launcher, agent, {
      timeout: entry.timeout,
      event,
      failClosed: entry.approval,
    });
  const approval = (event: string, matcher?: string): Entry => ({
    event,
    matcher,
    timeout: approvalTimeout,
    approval: true,
  });
  const other = (event: string, matcher?: string): Entry => ({
    event,
    matcher,
    timeout: EVENT_HOOK_TIMEOUT_SECONDS,
    approval: false,
  });
  switch (agent) {
    case "cursor": {
      const hooks: Json = { ...(base.hooks ?? {}) };
      const entries = [
        approval("beforeShellExecution"),
        ...["afterShellExecution", "sessionStart", "sessionEnd", "stop"].map((e) => other(e)),
      ];
      for (const entry of entries) {
        const kept = (Array.isArray(hooks[entry.event]) ? hooks[entry.event] : []).filter((
          h: Json,
        ) => !isOurs(h?.command));
        // Cursor: `failClosed` blocks the action when the hook crashes or times out.
        const handler: Json = { command: command(entry), timeout: entry.timeout };
        if (entry.approval) handler.failClosed = true;
        hooks[entry.event] = [...kept, handler];
      }
      return {
        path: ".cursor/hooks.json",
        config: { ...base, version: 1, hooks },
        localOnly: false,
      };
    }
    case "codex": {
      // codex-rs/config/src/hook_config.rs: a command handler has type, command, timeout
      // (seconds), async, statusMessage; nothing else.
      const entries = [
        approval("PermissionRequest", "Bash"),
        other("PostToolUse", "Bash"),
        other("SessionStart"),
        other("Stop"),
      ];
      return {
        path: ".codex/hooks.json",
        config: {
          ...base,
          hooks: claudeLikeHooks(base.hooks, entries, (e) => ({
            type: "command",
            command: command(e),
            timeout: e.timeout,
          })),
        },
        localOnly: false,
      };
    }
    case "gemini": {
      // geminicli.com/docs/hooks/reference: timeout in milliseconds.
      const entries = [
        approval("BeforeTool", "run_shell_command"),
        other("AfterTool", "run_shell_command"),
        other("SessionStart"),
        other("AfterAgent"),
        other("SessionEnd"),
      ];
      return {
        path: ".gemini/settings.json",
        config: {
          ...base,
          hooks: claudeLikeHooks(base.hooks, entries, (e) => ({
            type: "command",
            name: `agentops-${e.event}`,
            command: command(e),
            timeout: e.timeout * 1000,
          })),
        },
        localOnly: false,
      };
    }
    case "copilot": {
      // Our own file under .github/hooks/ (Copilot loads every *.json there). The payload
      // does not name its event, so the command does (--event).
      const entries = [
        approval("preToolUse"),
        other("sessionStart"),
        other("agentStop"),
        other("sessionEnd"),
      ];
      const hooks: Json = {};
      for (const entry of entries) {
        hooks[entry.event] = [{
          type: "command",
          bash: command(entry, entry.event),
          timeoutSec: entry.timeout,
        }];
      }
      return {
        path: ".github/hooks/agentops.json",
        config: { version: 1, hooks },
        localOnly: false,
      };
    }
    case "claude-code": {
      const entries = [
        approval("PreToolUse", SHELL_MATCHER),
        approval("PermissionRequest", SHELL_MATCHER),
        other("PostToolUse", SHELL_MATCHER),
        other("PostToolUseFailure", SHELL_MATCHER),
        other("SessionStart"),
        other("Stop"),
        other("StopFailure"),
        other("Notification"),
        other("SessionEnd"),
      ];
      return {
        // settings.local.json: "local project settings (not committed)" in Claude's docs.
        path: options.shared ? ".claude/settings.json" : ".claude/settings.local.json",
        config: {
          ...base,
          hooks: claudeLikeHooks(base.hooks, entries, (e) => ({
            type: "command",
            command: command(e),
            timeout: e.timeout,
          })),
        },
        localOnly: !options.shared,
      };
    }
  }
}

/** The config without any of our entries; top-level keys install added are dropped again
 * once nothing of the user's is left in them. */
function planUninstall(agent: Agent, current: Json, addedKeys: string[] = []): Json {
  const config: Json = { ...current };
  const hooks: Json = { ...(config.hooks ?? {}) };
  for (const [event, value] of Object.entries(hooks)) {
    if (!Array.isArray(value)) continue;
    const kept = agent === "cursor" || agent === "copilot"
      ? value.filter((h: Json) => !isOurs(h?.command ?? h?.bash))
      : withoutOurs(value);
    if (kept.length === 0 && value.length > 0) delete hooks[event];
    else hooks[event] = kept;
  }
  config.hooks = hooks;
  if (addedKeys.includes("hooks") && Object.keys(hooks).length === 0) {
    for (const key of addedKeys) delete config[key];
  }
  return config;
}

interface Manifest {
  [agent: string]: {
    path: string;
    /** install created the file */
    created: boolean;
    /** top-level keys install added to an existing file */
    added_keys: string[];
    /** the line install appended to .git/info/exclude, if any */
    git_exclude?: string;
  };
}

function manifestPath(project: string): string {
  return `${agentopsDir(project)}/installed.json`;
}

async function readManifest(project: string): Promise<Manifest> {
  try {
    return JSON.parse(await Deno.readTextFile(manifestPath(project)));
  } catch {
    return {};
  }
}

async function writeManifest(project: string, manifest: Manifest): Promise<void> {
  await Deno.mkdir(agentopsDir(project), { recursive: true, mode: 0o700 });
  await writeAtomic(manifestPath(project), JSON.stringify(manifest, null, 2) + "\n");
}

async function writeAtomic(path: string, text: string): Promise<void> {
  await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  const tmp = `${path}.${crypto.randomUUID()}.tmp`;
  await Deno.writeTextFile(tmp, text);
  await Deno.rename(tmp, path);
}

/** The config as a JSON object, null when the file does not exist. A file that is not a
 * JSON object is an error: never overwritten. */
async function readConfig(path: string): Promise<Json | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
  if (text.trim() === "") return {};
  try {
    const parsed = JSON.parse(text);
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
      throw new SyntaxError("not a JSON object");
    }
    return parsed;
  } catch (error) {
    throw new Error(`Cannot install into ${path}: ${(error as Error).message}; fix it first`);
  }
}

async function git(project: string, args: string[]): Promise<{ ok: boolean; out: string }> {
  try {
    const out = await new Deno.Command("git", {
      args: ["-C", project, ...args],
      stdout: "piped",
      stderr: "null",
    }).output();
    return { ok: out.success, out: new TextDecoder().decode(out.stdout).trim() };
  } catch {
    return { ok: false, out: "" }; // no git on this machine
  }
}

/** Keeps a file with this machine's paths out of git: appends it to .git/info/exclude;
 * refuses when git already tracks it. Returns the line added, if any. */
async function keepOutOfGit(project: string, relPath: string): Promise<string | undefined> {
  const inside = await git(project, ["rev-parse", "--is-inside-work-tree"]);
  if (!inside.ok || inside.out !== "true") return undefined;
  if ((await git(project, ["ls-files", "--error-unmatch", "--", relPath])).ok) {
    throw new Error(
      `Cannot install: ${relPath} is committed, and without \`agentops\` on PATH the hook ` +
        `command holds this machine's paths. Install agentops on PATH (or pass ` +
        `--launcher agentops) and run install again.`,
    );
  }
  if ((await git(project, ["check-ignore", "-q", "--", relPath])).ok) return undefined;
  const exclude = await git(project, ["rev-parse", "--git-path", "info/exclude"]);
  if (!exclude.ok) return undefined;
  const path = exclude.out.startsWith("/") ? exclude.out : `${project}/${exclude.out}`;
  const line = `/${relPath}`;
  let text = "";
  try {
    text = await Deno.readTextFile(path);
  } catch { /* none yet */ }
  if (text.split("\n").includes(line)) return undefined;
  await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  const sep = text === "" || text.endsWith("\n") ? "" : "\n";
  await Deno.writeTextFile(path, `${text}${sep}${line} # agentops install (local paths)\n`);
  return line;
}

interface InstallResult {
  path: string;
  command: string;
  portable: boolean;
  /** notes for the user (a double gate avoided, a file kept out of git) */
  notes: string[];
}

/** Reads the agent's config, writes ours in, and returns what was written. */
export async function install(
  project: string,
  agent: Agent,
  options: { policy: Policy; launcher?: string | Launcher; shared?: boolean },
): Promise<InstallResult> {
  const launcher = typeof options.launcher === "string"
    ? launcherFrom(options.launcher)
    : options.launcher ?? defaultLauncher();
  const probe = planInstall(agent, null, { ...options, launcher: launcher.command });
  if (!probe.localOnly && agent === "claude-code" && !launcher.portable) {
    throw new Error(
      "Cannot install into .claude/settings.json (a committed file) without `agentops` on " +
        "PATH: the command would hold this machine's paths. Drop --shared (the default is " +
        ".claude/settings.local.json) or put agentops on PATH.",
    );
  }
  const path = `${project}/${probe.path}`;
  const current = await readConfig(path);
  const notes: string[] = [];
  let gitExclude: string | undefined;
  if (!probe.localOnly && !launcher.portable) {
    gitExclude = await keepOutOfGit(project, probe.path);
    if (gitExclude) {
      notes.push(`${probe.path} holds this machine's paths: added to .git/info/exclude`);
    }
  }
  const plan = planInstall(agent, current, { ...options, launcher: launcher.command });
  await writeAtomic(path, JSON.stringify(plan.config, null, 2) + "\n");

  const manifest = await readManifest(project);
  const previous = manifest[agent];
  manifest[agent] = {
    path: probe.path,
    created: previous?.path === probe.path ? previous.created : current === null,
    added_keys: previous?.path === probe.path
      ? previous.added_keys
      : Object.keys(plan.config).filter((k) => current !== null && !(k in current)),
    git_exclude: previous?.git_exclude ?? gitExclude,
  };
  await writeManifest(project, manifest);
  if (agent === "cursor" && await hasClaudeHooks(project)) {
    notes.push(
      "Cursor also runs .claude/settings*.json hooks: the Claude Code copy steps aside when " +
        "Cursor runs it, so each command is asked once.",
    );
  }
  return { path, command: `${launcher.command} hook ${agent}`, portable: launcher.portable, notes };
}

async function hasClaudeHooks(project: string): Promise<boolean> {
  for (const file of ["settings.json", "settings.local.json"]) {
    try {
      const text = await Deno.readTextFile(`${project}/.claude/${file}`);
      if (/hook\s+claude-code/.test(text)) return true;
    } catch { /* none */ }
  }
  return false;
}

/** Removes what install wrote for the agent: our entries (everyone else's stay), the keys
 * and the file it created, its .git/info/exclude line. Returns the paths changed. */
export async function uninstall(project: string, agent: Agent): Promise<string[]> {
  const manifest = await readManifest(project);
  const record = manifest[agent];
  const paths = record ? [record.path] : [
    planInstall(agent, null, { policy: {} as Policy, launcher: "" }).path,
    ...(agent === "claude-code" ? [".claude/settings.json"] : []),
  ];
  const changed: string[] = [];
  for (const rel of paths) {
    const path = `${project}/${rel}`;
    const current = await readConfig(path).catch(() => null);
    if (current === null) continue;
    const addedKeys = record?.created ? Object.keys(current) : record?.added_keys ?? [];
    const next = planUninstall(agent, current, addedKeys);
    if (JSON.stringify(next) === JSON.stringify(current)) continue;
    if (record?.created && Object.keys(next).length === 0) await Deno.remove(path);
    else await writeAtomic(path, JSON.stringify(next, null, 2) + "\n");
    changed.push(path);
  }
  if (record?.git_exclude) await dropExcludeLine(project, record.git_exclude);
  if (record) {
    delete manifest[agent];
    await writeManifest(project, manifest);
  }
  return changed;
}

async function dropExcludeLine(project: string, line: string): Promise<void> {
  const exclude = await git(project, ["rev-parse", "--git-path", "info/exclude"]);
  if (!exclude.ok) return;
  const path = exclude.out.startsWith("/") ? exclude.out : `${project}/${exclude.out}`;
  try {
    const text = await Deno.readTextFile(path);
    const kept = text.split("\n").filter((l) => l.split(" #")[0] !== line);
    await Deno.writeTextFile(path, kept.join("\n"));
  } catch { /* gone */ }
}
