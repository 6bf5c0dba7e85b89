// Where a project's AgentOps files live (.agentops/ in the project: credentials 0600,
// policy, event queue) and the machine's identity (~/.config/agentops/machine_id).
import { sha256Hex } from "./digest.ts";
import { DEFAULT_URL } from "./sdk.ts";

export interface Credentials {
  url: string;
  workspace_id: string;
  bridge_secret: string;
  machine_id: string;
  workspace_fingerprint: string;
  display_name: string;
  paired_at: string;
}

/** The project directory: --project, the agent's project env var, else the cwd. */
export function projectDir(explicit?: string): string {
  return explicit ?? Deno.env.get("AGENTOPS_PROJECT_DIR") ??
    Deno.env.get("CLAUDE_PROJECT_DIR") ?? Deno.env.get("CURSOR_PROJECT_DIR") ??
    Deno.env.get("GEMINI_PROJECT_DIR") ?? Deno.cwd();
}

export function agentopsDir(project: string): string {
  return `${project}/.agentops`;
}

export function credentialsPath(project: string): string {
  return `${agentopsDir(project)}/credentials.json`;
}

export function policyPath(project: string): string {
  return `${agentopsDir(project)}/policy.json`;
}

export function queueDir(project: string): string {
  return `${agentopsDir(project)}/queue`;
}

/** AGENTOPS_URL, else the URL the project was paired against, else the local stack. */
export function backendUrl(credentials?: Credentials | null): string {
  return Deno.env.get("AGENTOPS_URL") ?? credentials?.url ?? DEFAULT_URL;
}

/** The project's credentials, null when it is not paired. Read synchronously: every hook
 * reads them, and an async read is a hop to the blocking thread pool (client/queue.ts). */
export function loadCredentials(project: string): Promise<Credentials | null> {
  try {
    return Promise.resolve(JSON.parse(Deno.readTextFileSync(credentialsPath(project))));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return Promise.resolve(null);
    return Promise.reject(
      new Error(
        `Cannot read ${credentialsPath(project)}: ${
          (error as Error).message
        }; run \`agentops pair\``,
      ),
    );
  }
}

/** Writes the credentials with mode 0600 (and .agentops/ 0700), atomically. */
export async function saveCredentials(project: string, credentials: Credentials): Promise<void> {
  const dir = agentopsDir(project);
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  await ensureGitignore(dir);
  const path = credentialsPath(project);
  const tmp = `${path}.${crypto.randomUUID()}.tmp`;
  await Deno.writeTextFile(tmp, JSON.stringify(credentials, null, 2) + "\n", { mode: 0o600 });
  await Deno.chmod(tmp, 0o600);
  await Deno.rename(tmp, path);
}

/** .agentops/ holds a secret: keep it out of git even where the repo does not ignore it. */
async function ensureGitignore(dir: string): Promise<void> {
  try {
    await Deno.writeTextFile(`${dir}/.gitignore`, "*\n", { createNew: true });
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
  }
}

function configHome(): string {
  const xdg = Deno.env.get("XDG_CONFIG_HOME");
  const home = Deno.env.get("HOME") ?? Deno.env.get("USERPROFILE") ?? ".";
  return `${xdg ?? `${home}/.config`}/agentops`;
}

/** A random id for this machine, made once (AGENTOPS_MACHINE_ID overrides). */
export async function machineId(): Promise<string> {
  const fromEnv = Deno.env.get("AGENTOPS_MACHINE_ID");
  if (fromEnv) return fromEnv;
  const path = `${configHome()}/machine_id`;
  try {
    return (await Deno.readTextFile(path)).trim();
  } catch {
    const id = crypto.randomUUID();
    await Deno.mkdir(configHome(), { recursive: true, mode: 0o700 });
    await Deno.writeTextFile(path, id + "\n", { mode: 0o600 });
    return id;
  }
}

/** The project's fingerprint: sha256 of its real path (stable per checkout). */
export async function workspaceFingerprint(project: string): Promise<string> {
  return await sha256Hex(`path:${await Deno.realPath(project)}`);
}

export { configHome };
