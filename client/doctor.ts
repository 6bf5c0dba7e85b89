// `agentops doctor`: checks what a hook needs, in the order it needs it — the backend
// answers, the clocks agree (signatures allow ±300 s), the project is paired with a phone,
// the agents' hooks are installed and start an existing command, the policy parses, and
// no run events are stuck in the queue. Each failure says what to do; any failure exits 1.
import { type Agent, AGENTS } from "./hooks.ts";
import { isOurs } from "./install.ts";
import { loadPolicy } from "./policy.ts";
import { AgentOpsClient, ApiError } from "./sdk.ts";
import { EventQueue } from "./queue.ts";
import { backendUrl, type Credentials, loadCredentials, policyPath, queueDir } from "./project.ts";
import { backendFix, describeError, networkReason } from "./net_errors.ts";

type CheckStatus = "ok" | "warn" | "fail";

export interface Check {
  name: string;
  status: CheckStatus;
  message: string;
  /** what to do about a warn or fail */
  fix?: string;
}

/** Signatures older or newer than this are refused (docs/contract/security.md#bridge-signing). */
const SIGNATURE_WINDOW_SECONDS = 300;

/** The clock check from a response's Date header and the local time it arrived (the
 * header has whole seconds, so ±1 s is noise). */
export function clockCheck(dateHeader: string | null, localMs: number): Check {
  const server = dateHeader ? Date.parse(dateHeader) : NaN;
  if (!Number.isFinite(server)) {
    return {
      name: "clock",
      status: "warn",
      message: "the backend sent no Date header; cannot compare clocks",
    };
  }
  const skew = Math.round((localMs - server) / 1000);
  const text = skew === 0
    ? "in step with the backend"
    : `${Math.abs(skew)} s ${skew > 0 ? "ahead of" : "behind"} the backend`;
  if (Math.abs(skew) >= SIGNATURE_WINDOW_SECONDS) {
    return {
      name: "clock",
      status: "fail",
      message: `${text}: every signed request is refused (signature_expired, window ±300 s)`,
      fix:
        "Sync this machine's clock (e.g. `sudo timedatectl set-ntp true`, or `sudo sntp -sS time.apple.com` on macOS).",
    };
  }
  if (Math.abs(skew) > 60) {
    return {
      name: "clock",
      status: "warn",
      message: `${text} (signatures allow ±300 s)`,
      fix: "Sync this machine's clock before it drifts out of the window.",
    };
  }
  return { name: "clock", status: "ok", message: `${text} (signatures allow ±300 s)` };
}

async function checkBackend(url: string): Promise<{ checks: Check[] }> {
  const started = Date.now();
  let res: Response;
  try {
    res = await fetch(`${url.replace(/\/+$/, "")}/pair-status`, {
      signal: AbortSignal.timeout(5_000),
    });
  } catch (error) {
    const reason = networkReason(error) ?? describeError(error);
    return {
      checks: [{
        name: "backend",
        status: "fail",
        message: `cannot reach ${url}/pair-status: ${reason}`,
        fix: backendFix(url),
      }],
    };
  }
  const ms = Date.now() - started;
  const body = await res.json().catch(() => null);
  const checks: Check[] = [];
  if (res.status === 401 && body?.error?.code) {
    checks.push({ name: "backend", status: "ok", message: `${url} answers (${ms} ms)` });
  } else {
    checks.push({
      name: "backend",
      status: "fail",
      message: `${url}/pair-status answered HTTP ${res.status}, not the AgentOps API`,
      fix: "Set AGENTOPS_URL to the functions URL, ending in /functions/v1.",
    });
  }
  checks.push(clockCheck(res.headers.get("date"), started + ms / 2));
  return { checks };
}

async function checkPairing(url: string, creds: Credentials | null): Promise<Check[]> {
  if (!creds) {
    return [{
      name: "pairing",
      status: "fail",
      message: "this project is not paired",
      fix: "Run `agentops pair` here.",
    }];
  }
  const checks: Check[] = [];
  if (creds.url && creds.url.replace(/\/+$/, "") !== url.replace(/\/+$/, "")) {
    checks.push({
      name: "pairing",
      status: "warn",
      message: `paired against ${creds.url}, but AGENTOPS_URL is ${url}`,
      fix: "Unset AGENTOPS_URL, or run `agentops pair` against the new backend.",
    });
  }
  const client = new AgentOpsClient({
    baseUrl: url,
    workspaceId: creds.workspace_id,
    secret: creds.bridge_secret,
    retry: { attempts: 1, timeoutMs: 5_000 },
  });
  try {
    const status = await client.pairStatus(0);
    if (!status.paired) {
      checks.push({
        name: "pairing",
        status: "fail",
        message: `workspace ${creds.workspace_id} has no phone paired`,
        fix: "Run `agentops pair` and scan the code with the app.",
      });
    } else {
      const names = status.devices.map((d) => d.device_name ?? d.platform).join(", ");
      checks.push({
        name: "pairing",
        status: "ok",
        message: `"${creds.display_name}" paired with ${names}`,
      });
    }
  } catch (error) {
    const unauthorized = error instanceof ApiError && error.status === 401;
    checks.push({
      name: "pairing",
      status: "fail",
      message: unauthorized
        ? `the backend refuses this project's credentials (${error.code}: ${error.message})`
        : `cannot check the pairing: ${describeError(error)}`,
      fix: unauthorized
        ? error.code === "signature_expired"
          ? "Fix the clock (see above)."
          : "The secret was replaced (paired again elsewhere?) or the backend's HMAC_SECRET changed: run `agentops pair`."
        : "Fix the backend check above first.",
    });
  }
  return checks;
}

// Where `agentops install` writes each agent's hooks (client/install.ts).
const HOOK_FILES: Record<Agent, string[]> = {
  "claude-code": [".claude/settings.json", ".claude/settings.local.json"],
  cursor: [".cursor/hooks.json"],
  codex: [".codex/hooks.json"],
  gemini: [".gemini/settings.json"],
  copilot: [".github/hooks/agentops.json"],
};

/** Every command string in a hooks config (`command`, or Copilot's `bash`), whatever its shape. */
function commandsIn(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) { for (const v of value) commandsIn(v, out); }
  else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      // Copilot CLI names it by shell: `bash` / `powershell`.
      if ((k === "command" || k === "bash" || k === "powershell") && typeof v === "string") {
        out.push(v);
      } else commandsIn(v, out);
    }
  }
  return out;
}

/** The program a hook command starts (its first word, unquoted). */
export function programOf(command: string): string {
  return wordsOf(command, 1)[0] ?? "";
}

/** The first `max` shell words of a command: bare, "double-" or 'single-quoted'. */
function wordsOf(command: string, max: number): string[] {
  const words: string[] = [];
  const re = /\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([^\s'"]+))/y;
  while (words.length < max) {
    const m = re.exec(command);
    if (!m || m[0].trim() === "") break;
    words.push(m[1] !== undefined ? JSON.parse(`"${m[1]}"`) : m[2] ?? m[3]);
  }
  return words;
}

/** The files a hook command needs: its program, and the script when the program is node or
 * deno (`<node> …/dist/agentops.mjs hook …`, `<deno> run -A …/cli.ts hook …`). */
export function filesOf(command: string): string[] {
  const words = wordsOf(command, 8);
  const end = words.indexOf("hook");
  const head = end < 0 ? words.slice(0, 1) : words.slice(0, end);
  if (!/(^|\/)(node|deno)(\.exe)?$/.test(head[0] ?? "")) return head.slice(0, 1);
  return [head[0], ...head.slice(1).filter((w) => !w.startsWith("-") && w !== "run")];
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

async function checkHooks(project: string): Promise<Check[]> {
  const checks: Check[] = [];
  let installed = 0;
  for (const agent of AGENTS) {
    const found: { file: string; commands: string[] }[] = [];
    for (const file of HOOK_FILES[agent]) {
      let text: string;
      try {
        text = await Deno.readTextFile(`${project}/${file}`);
      } catch {
        continue;
      }
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (error) {
        checks.push({
          name: `hooks ${agent}`,
          status: "fail",
          message: `${file} is not valid JSON (${(error as Error).message})`,
          fix: `Fix ${file}, then run \`agentops install ${agent}\`.`,
        });
        continue;
      }
      const ours = commandsIn(json).filter(isOurs);
      if (ours.length) found.push({ file, commands: ours });
    }
    if (found.length === 0) {
      checks.push({
        name: `hooks ${agent}`,
        status: "ok",
        message: `not installed (\`agentops install ${agent}\` if you use it)`,
      });
      continue;
    }
    installed++;
    const programs = [...new Set(found.flatMap((f) => f.commands.map(programOf)))];
    const needed = [...new Set(found.flatMap((f) => f.commands.flatMap(filesOf)))];
    const missing = [];
    for (const p of needed) if (p.includes("/") && !(await exists(p))) missing.push(p);
    const files = found.map((f) => `${f.file} (${f.commands.length})`).join(", ");
    checks.push(
      missing.length
        ? {
          name: `hooks ${agent}`,
          status: "fail",
          message: `${files} start ${missing.join(", ")}, which does not exist`,
          fix: `Run \`agentops install ${agent}\` again with the agentops you use now.`,
        }
        : { name: `hooks ${agent}`, status: "ok", message: `${files} → ${programs.join(", ")}` },
    );
  }
  if (installed === 0) {
    checks.push({
      name: "hooks",
      status: "fail",
      message: "no agent's hooks are installed in this project",
      fix: "Run `agentops install claude-code` (or cursor, codex, gemini, copilot).",
    });
  }
  return checks;
}

async function checkPolicy(project: string): Promise<Check> {
  const path = policyPath(project);
  try {
    const policy = await loadPolicy(path);
    const custom = await exists(path);
    return {
      name: "policy",
      status: "ok",
      message: `${custom ? path : "the default policy (no policy.json)"}: ` +
        `${policy.require_approval.length} approval rule(s), TTL ${policy.approval_ttl_seconds} s`,
    };
  } catch (error) {
    return {
      name: "policy",
      status: "fail",
      message: (error as Error).message,
      fix: `Fix ${path} (or delete it for the default policy).`,
    };
  }
}

function checkQueue(project: string): Check[] {
  const queue = new EventQueue(queueDir(project));
  const waiting = queue.list().length;
  const rejected = new EventQueue(`${queueDir(project)}/rejected`).list().length;
  const checks: Check[] = [
    waiting === 0 ? { name: "queue", status: "ok", message: "no run events waiting" } : {
      name: "queue",
      status: "fail",
      message: `${waiting} run event(s) waiting: the backend was unreachable when they fired`,
      fix: "Run `agentops flush` once the backend check passes.",
    },
  ];
  if (rejected > 0) {
    checks.push({
      name: "queue",
      status: "warn",
      message: `${rejected} event(s) the backend refused, kept in ${queueDir(project)}/rejected`,
      fix: "Look at them, then delete the folder.",
    });
  }
  return checks;
}

/** Every check, in order. */
async function doctorChecks(project: string): Promise<Check[]> {
  const creds = await loadCredentials(project).catch(() => null);
  const url = backendUrl(creds);
  const backend = await checkBackend(url);
  const reachable = backend.checks[0].status === "ok";
  return [
    ...backend.checks,
    ...(reachable ? await checkPairing(url, creds) : creds ? [] : await checkPairing(url, null)),
    ...await checkHooks(project),
    await checkPolicy(project),
    ...checkQueue(project),
  ];
}

const MARK: Record<CheckStatus, string> = { ok: "ok  ", warn: "warn", fail: "FAIL" };

function formatChecks(checks: Check[]): string {
  const width = Math.max(...checks.map((c) => c.name.length)) + 2;
  return checks.map((c) =>
    `${MARK[c.status]}  ${c.name.padEnd(width)}${c.message}` +
    (c.fix && c.status !== "ok" ? `\n      ${" ".repeat(width)}→ ${c.fix}` : "")
  ).join("\n");
}

export async function runDoctor(project: string): Promise<number> {
  const checks = await doctorChecks(project);
  console.log(`agentops doctor — ${project}\n`);
  console.log(formatChecks(checks));
  const failed = checks.filter((c) => c.status === "fail").length;
  console.log(failed ? `\n${failed} check(s) failed.` : "\nAll checks passed.");
  return failed ? 1 : 0;
}
