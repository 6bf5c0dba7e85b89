// Helpers for end-to-end tests of the `agentops` CLI: a throwaway project paired with a
// test workspace, the CLI run as a real subprocess, and a supabase-js "phone".
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import { type Json, mintUserToken, type Stack, startStack } from "./stack.ts";
import { randomDevice, randomWorkspace, type TestWorkspace } from "./fixtures.ts";

export const CLI = new URL("../../client/cli.ts", import.meta.url).pathname;
const FIXTURES = new URL("../fixtures/hooks/", import.meta.url);

/** This process's Deno cache, kept for the CLI subprocesses: their HOME is the project, and a
 * cache under it would make every run download every npm package again (~20 s, 400 MB). */
function parentDenoDir(): string {
  const env = (name: string) => Deno.env.get(name) ?? "";
  if (env("DENO_DIR")) return env("DENO_DIR");
  if (Deno.build.os === "windows") return `${env("LOCALAPPDATA")}\\deno`;
  if (Deno.build.os === "darwin") return `${env("HOME")}/Library/Caches/deno`;
  return `${env("XDG_CACHE_HOME") || `${env("HOME")}/.cache`}/deno`;
}

/** A documented payload with extra unknown fields, as real agents send. */
export async function hookPayload(
  name: string,
  extra: Record<string, unknown> = {},
): Promise<Record<string, unknown>> {
  const json = JSON.parse(await Deno.readTextFile(new URL(`${name}.json`, FIXTURES)));
  return { ...json, agent_build: "e2e", unknown_object: { a: [1, 2] }, ...extra };
}

export interface TestProject {
  dir: string;
  env: Record<string, string>;
  close(): Promise<void>;
}

/** A project folder with .agentops/credentials.json (0600) and an optional policy. */
export async function testProject(
  stack: Pick<Stack, "functionsUrl">,
  ws: TestWorkspace | null,
  options: { policy?: Record<string, unknown>; url?: string } = {},
): Promise<TestProject> {
  const dir = await Deno.makeTempDir({ prefix: "agentops-e2e-" });
  await Deno.mkdir(`${dir}/.agentops`, { mode: 0o700 });
  if (ws) {
    await Deno.writeTextFile(
      `${dir}/.agentops/credentials.json`,
      JSON.stringify({
        url: stack.functionsUrl,
        workspace_id: ws.workspaceId,
        bridge_secret: ws.secret,
        machine_id: "e2e",
        workspace_fingerprint: "e2e",
        display_name: ws.displayName,
        paired_at: new Date().toISOString(),
      }),
      { mode: 0o600 },
    );
  }
  if (options.policy) {
    await Deno.writeTextFile(`${dir}/.agentops/policy.json`, JSON.stringify(options.policy));
  }
  return {
    dir,
    env: {
      AGENTOPS_URL: options.url ?? stack.functionsUrl,
      AGENTOPS_PROJECT_DIR: dir,
      // A loaded test machine answers slower than the 1 s a hook that asks nobody gets by
      // default; the 2 s bound itself is tested in-process (agentops_gate_e2e_test.ts).
      AGENTOPS_HOOK_BUDGET_MS: "8000",
      HOME: dir,
      XDG_CONFIG_HOME: `${dir}/.config`,
      DENO_DIR: parentDenoDir(),
    },
    // A hook that is still running (a test that failed first) may write into the folder
    // while it goes: try again rather than hide the test's own error behind this one.
    close: async () => {
      for (let attempt = 0;; attempt++) {
        try {
          return await Deno.remove(dir, { recursive: true });
        } catch (error) {
          if (attempt >= 20) throw error;
          await new Promise((r) => setTimeout(r, 250));
        }
      }
    },
  };
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON, or null when empty */
  json: Json | null;
}

function parseJson(text: string): Json | null {
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

/** Runs `deno run -A client/cli.ts <args>` with stdin piped in. */
export async function runCli(
  project: TestProject,
  args: string[],
  options: { stdin?: string; env?: Record<string, string> } = {},
): Promise<CliResult> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    cwd: project.dir,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { ...project.env, ...options.env },
  }).spawn();
  const writer = child.stdin.getWriter();
  if (options.stdin) await writer.write(new TextEncoder().encode(options.stdin));
  await writer.close();
  const out = await child.output();
  const stdout = new TextDecoder().decode(out.stdout).trim();
  return {
    code: out.code,
    stdout,
    stderr: new TextDecoder().decode(out.stderr),
    json: parseJson(stdout),
  };
}

/** Pipes a hook payload into `agentops hook <agent>`. */
export function runHookCli(
  project: TestProject,
  agent: string,
  payload: unknown,
  options: { timeout?: number; env?: Record<string, string> } = {},
): Promise<CliResult> {
  const args = ["hook", agent];
  if (options.timeout) args.push("--timeout", String(options.timeout));
  return runCli(project, args, {
    stdin: typeof payload === "string" ? payload : JSON.stringify(payload),
    env: options.env,
  });
}

/** The phone as the app builds it: supabase-js with the user's access token. */
export async function testPhone(stack: Stack, userId: string): Promise<SupabaseClient> {
  return createClient(stack.baseUrl, "anon", {
    global: { headers: { Authorization: `Bearer ${await mintUserToken(userId)}` } },
    auth: { persistSession: false, autoRefreshToken: false },
  });
}

/** functions.invoke, returning the status and JSON body whether it succeeded or not. */
export async function invoke(
  phone: SupabaseClient,
  name: string,
  body: Record<string, unknown>,
): Promise<{ status: number; body: Json }> {
  const { data, error, response } = await phone.functions.invoke(name, { body });
  if (!error) return { status: response?.status ?? 200, body: data };
  const res = (error as { context?: Response }).context;
  return { status: res?.status ?? 0, body: res ? await res.json().catch(() => null) : null };
}

/** A test stack, a workspace paired with one phone user (unless `paired: false`), and a
 * project folder whose `agentops` talks to that stack. */
export interface HookWorld {
  stack: Stack;
  ws: TestWorkspace;
  userId: string;
  project: TestProject;
}

export interface HookWorldOptions {
  paired?: boolean;
  policy?: Record<string, unknown>;
  url?: string;
}

export async function hookWorld(options: HookWorldOptions = {}): Promise<HookWorld> {
  const stack = await startStack();
  const ws = await randomWorkspace(stack.sql);
  const userId = crypto.randomUUID();
  if (options.paired !== false) {
    await randomDevice(stack.sql, { workspaceId: ws.workspaceId, userId });
  }
  const project = await testProject(stack, ws, { policy: options.policy, url: options.url });
  return { stack, ws, userId, project };
}

/** Runs `fn` in a fresh world, closing the project and the stack after it. */
export async function withHookWorld(
  options: HookWorldOptions,
  fn: (w: HookWorld) => Promise<void>,
): Promise<void> {
  const w = await hookWorld(options);
  try {
    await fn(w);
  } finally {
    await w.project.close();
    await w.stack.close();
  }
}
