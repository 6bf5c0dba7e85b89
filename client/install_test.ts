import { assert, assertEquals, assertRejects } from "../tests/_helpers/assert.ts";
import { assertHookOutput } from "../tests/_helpers/hook_schemas.ts";
import {
  defaultLauncher,
  install,
  isOurs,
  type Launcher,
  shellQuote,
  uninstall,
} from "./install.ts";
import { DEFAULT_POLICY, hostTimeoutSeconds } from "./policy.ts";
import type { Agent } from "./hooks.ts";

const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const FIXTURES = `${REPO}/tests/fixtures/hooks`;

async function readJson(path: string) {
  return JSON.parse(await Deno.readTextFile(path));
}

/** A temp folder whose path has spaces and both kinds of quotes, like real checkouts. */
async function awkwardDir(label: string): Promise<{ dir: string; root: string }> {
  const root = await Deno.makeTempDir({ prefix: "agentops-install-" });
  const dir = `${root}/${label} dir with 'single' and "double" quotes $HOME`;
  await Deno.mkdir(dir, { recursive: true });
  return { dir, root };
}

/** A launcher whose deno and cli.ts paths both have spaces and quotes (symlinks to the
 * real ones), quoted exactly as defaultLauncher() quotes. */
async function awkwardLauncher(root: string): Promise<Launcher> {
  const tools = `${root}/tool's "bin" dir`;
  await Deno.mkdir(tools, { recursive: true });
  await Deno.symlink(Deno.execPath(), `${tools}/deno`);
  await Deno.symlink(REPO, `${tools}/agent ops`);
  return {
    command: `${shellQuote(`${tools}/deno`)} run -A ${
      shellQuote(`${tools}/agent ops/client/cli.ts`)
    }`,
    portable: false,
  };
}

/** Runs an installed command string the way the hosts do: `sh -c <command>`. */
async function runInstalled(
  command: string,
  options: { stdin: string; project: string },
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command("sh", {
    args: ["-c", command],
    cwd: options.project,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: {
      CLAUDE_PROJECT_DIR: options.project,
      AGENTOPS_URL: "http://127.0.0.1:9/functions/v1",
    },
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(options.stdin));
  await writer.close();
  const out = await child.output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout).trim(),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

async function fixture(name: string, extra: Record<string, unknown> = {}): Promise<string> {
  const json = JSON.parse(await Deno.readTextFile(`${FIXTURES}/${name}.json`));
  return JSON.stringify({ ...json, ...extra });
}

/** The approval hook's command in each agent's config. */
// deno-lint-ignore no-explicit-any
function approvalCommand(agent: Agent, config: Record<string, any>): string {
  switch (agent) {
    case "cursor":
      return config.hooks.beforeShellExecution.at(-1).command;
    case "copilot":
      return config.hooks.preToolUse[0].bash;
    case "gemini":
      return config.hooks.BeforeTool.at(-1).hooks[0].command;
    case "codex":
      return config.hooks.PermissionRequest.at(-1).hooks[0].command;
    case "claude-code":
      return config.hooks.PreToolUse.at(-1).hooks[0].command;
  }
}

const APPROVAL_PAYLOAD: Record<Agent, [string, string, Record<string, unknown>]> = {
  "claude-code": ["claude-code-pretooluse-bash", "PreToolUse", {}],
  codex: ["codex-permissionrequest-bash", "PermissionRequest", {}],
  cursor: ["cursor-beforeshellexecution", "beforeShellExecution", {}],
  gemini: ["gemini-beforetool-shell", "BeforeTool", {}],
  copilot: ["copilot-pretooluse-bash", "preToolUse", {}],
};

Deno.test("defaultLauncher() is `agentops` when it is on PATH, else the absolute deno command, decoded", async () => {
  const bin = await Deno.makeTempDir();
  const path = Deno.env.get("PATH") ?? "";
  try {
    await Deno.writeTextFile(`${bin}/agentops`, "#!/bin/sh\n", { mode: 0o755 });
    Deno.env.set("PATH", `${bin}:${path}`);
    assertEquals(defaultLauncher(), { command: "agentops", portable: true });
    Deno.env.set("PATH", "/nonexistent");
    const fallback = defaultLauncher();
    assertEquals(fallback.portable, false);
    assert(
      fallback.command.includes(" run -A ") && !fallback.command.includes("%"),
      fallback.command,
    );
    assert(fallback.command.includes("/client/cli.ts"), fallback.command);
  } finally {
    Deno.env.set("PATH", path);
    await Deno.remove(bin, { recursive: true });
  }
});

Deno.test("shellQuote() keeps plain words and single-quotes everything else", () => {
  assertEquals(shellQuote("/usr/bin/deno"), "/usr/bin/deno");
  assertEquals(shellQuote("/a b/c"), "'/a b/c'");
  assertEquals(shellQuote(`it's "x" $y`), `'it'\\''s "x" $y'`);
});

for (const agent of ["claude-code", "cursor", "codex", "gemini", "copilot"] as Agent[]) {
  Deno.test(`install ${agent}: the installed command runs through sh -c from a path with spaces and quotes`, async () => {
    const { dir, root } = await awkwardDir(agent);
    try {
      await Deno.mkdir(`${dir}/.agentops`);
      await Deno.writeTextFile(
        `${dir}/.agentops/policy.json`,
        JSON.stringify({ fallback: { no_device: "deny" } }),
      );
      const launcher = await awkwardLauncher(root);
      const result = await install(dir, agent, { policy: DEFAULT_POLICY, launcher });
      const text = await Deno.readTextFile(result.path);
      assert(!text.includes("%20") && !text.includes("%27"), "URL-encoded path in the config");
      const command = approvalCommand(agent, JSON.parse(text));
      const [name, event] = APPROVAL_PAYLOAD[agent];
      const out = await runInstalled(command, { stdin: await fixture(name), project: dir });
      assertEquals(out.code, 0, out.stderr);
      const answer = assertHookOutput(agent, event, out.stdout);
      // Unpaired project + no_device "deny": the runner really ran and answered deny.
      assert(JSON.stringify(answer).includes("deny"), out.stdout);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  });
}

Deno.test("an approval hook whose runner cannot start blocks the command (exit 2), never lets it through", async () => {
  const { dir, root } = await awkwardDir("missing");
  try {
    const launcher = { command: shellQuote(`${root}/no such 'agentops'`), portable: false };
    const result = await install(dir, "claude-code", { policy: DEFAULT_POLICY, launcher });
    const command = approvalCommand("claude-code", await readJson(result.path));
    const out = await runInstalled(command, {
      stdin: await fixture("claude-code-pretooluse-bash"),
      project: dir,
    });
    assertEquals(out.code, 2);
    assert(out.stderr.includes("AgentOps: the hook runner could not run"), out.stderr);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("install claude-code defaults to settings.local.json, gates Bash and PowerShell, keeps other hooks, is idempotent", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/.claude`);
    const mine = { type: "command", command: "./format.sh" };
    const original = {
      permissions: { allow: ["Bash(npm test)"] },
      hooks: { PreToolUse: [{ matcher: "Edit", hooks: [mine] }] },
    };
    await Deno.writeTextFile(`${dir}/.claude/settings.local.json`, JSON.stringify(original));
    const launcher = { command: "/opt/agentops/bin/agentops", portable: false };
    const { path } = await install(dir, "claude-code", { policy: DEFAULT_POLICY, launcher });
    assertEquals(path, `${dir}/.claude/settings.local.json`);
    const once = await readJson(path);
    await install(dir, "claude-code", { policy: DEFAULT_POLICY, launcher });
    assertEquals(await readJson(path), once);
    assertEquals(once.permissions, original.permissions);
    assertEquals(once.hooks.PreToolUse[0], { matcher: "Edit", hooks: [mine] });
    const gate = once.hooks.PreToolUse[1];
    assertEquals(gate.matcher, "Bash|PowerShell");
    assertEquals(Object.keys(gate.hooks[0]).sort(), ["command", "timeout", "type"]);
    assertEquals(gate.hooks[0].timeout, hostTimeoutSeconds(DEFAULT_POLICY));
    assert(gate.hooks[0].command.startsWith("/opt/agentops/bin/agentops hook claude-code"));
    for (const event of ["PermissionRequest", "PostToolUse", "PostToolUseFailure"]) {
      assertEquals(once.hooks[event][0].matcher, "Bash|PowerShell", event);
    }
    for (const event of ["SessionStart", "Stop", "StopFailure", "Notification", "SessionEnd"]) {
      assertEquals(once.hooks[event].length, 1, event);
      assert(isOurs(once.hooks[event][0].hooks[0].command), event);
    }
    assert(!JSON.stringify(once).includes("onFailure"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a committed settings file gets only a portable command: --shared needs agentops on PATH", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assertRejects(() =>
      install(dir, "claude-code", {
        policy: DEFAULT_POLICY,
        launcher: { command: "/home/me/deno run -A /home/me/cli.ts", portable: false },
        shared: true,
      })
    );
    const { path } = await install(dir, "claude-code", {
      policy: DEFAULT_POLICY,
      launcher: "agentops",
      shared: true,
    });
    assertEquals(path, `${dir}/.claude/settings.json`);
    const command = (await readJson(path)).hooks.PreToolUse[0].hooks[0].command;
    assert(command.startsWith("agentops hook claude-code --timeout "), command);
    assert(!command.includes("/"), command.split("||")[0]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("without agentops on PATH, a project file is kept out of git, and a tracked one is refused", async () => {
  const dir = await Deno.makeTempDir();
  const git = (...args: string[]) =>
    new Deno.Command("git", { args: ["-C", dir, ...args], stdout: "null", stderr: "null" })
      .output();
  try {
    await git("init", "-q");
    const launcher = { command: "/abs/deno run -A /abs/cli.ts", portable: false };
    await install(dir, "cursor", { policy: DEFAULT_POLICY, launcher });
    const exclude = await Deno.readTextFile(`${dir}/.git/info/exclude`);
    assert(exclude.includes("/.cursor/hooks.json"), exclude);
    await uninstall(dir, "cursor");
    assert(!(await Deno.readTextFile(`${dir}/.git/info/exclude`)).includes("/.cursor/hooks.json"));

    await Deno.mkdir(`${dir}/.codex`);
    await Deno.writeTextFile(`${dir}/.codex/hooks.json`, "{}\n");
    await git("add", ".codex/hooks.json");
    await assertRejects(() => install(dir, "codex", { policy: DEFAULT_POLICY, launcher }));
    assertEquals(await Deno.readTextFile(`${dir}/.codex/hooks.json`), "{}\n");
    await install(dir, "codex", { policy: DEFAULT_POLICY, launcher: "agentops" });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("install codex writes only the keys Codex's hook config has (no onFailure)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { path } = await install(dir, "codex", { policy: DEFAULT_POLICY, launcher: "agentops" });
    const config = await readJson(path);
    assertEquals(Object.keys(config.hooks).sort(), [
      "PermissionRequest",
      "PostToolUse",
      "SessionStart",
      "Stop",
    ]);
    assertEquals(config.hooks.PermissionRequest[0].matcher, "Bash");
    for (const groups of Object.values(config.hooks) as { hooks: object[] }[][]) {
      for (const handler of groups[0].hooks) {
        // codex-rs/config/src/hook_config.rs HookHandlerConfig::Command
        for (const key of Object.keys(handler)) {
          assert(["type", "command", "timeout", "async", "statusMessage"].includes(key), key);
        }
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("install cursor, gemini and copilot write their documented shapes", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const ttl = hostTimeoutSeconds(DEFAULT_POLICY);
    const cursor = await readJson(
      (await install(dir, "cursor", { policy: DEFAULT_POLICY, launcher: "agentops" })).path,
    );
    assertEquals(cursor.version, 1);
    assertEquals(cursor.hooks.beforeShellExecution[0].failClosed, true);
    assertEquals(cursor.hooks.beforeShellExecution[0].timeout, ttl);
    const gemini = await readJson(
      (await install(dir, "gemini", { policy: DEFAULT_POLICY, launcher: "agentops" })).path,
    );
    assertEquals(gemini.hooks.BeforeTool[0].matcher, "run_shell_command");
    assertEquals(gemini.hooks.BeforeTool[0].hooks[0].timeout, ttl * 1000); // milliseconds
    assertEquals(Object.keys(gemini.hooks).sort(), [
      "AfterAgent",
      "AfterTool",
      "BeforeTool",
      "SessionEnd",
      "SessionStart",
    ]);
    const copilot = await readJson(
      (await install(dir, "copilot", { policy: DEFAULT_POLICY, launcher: "agentops" })).path,
    );
    assertEquals(copilot.version, 1);
    assertEquals(copilot.hooks.preToolUse[0].type, "command");
    assertEquals(copilot.hooks.preToolUse[0].timeoutSec, ttl);
    assert(copilot.hooks.preToolUse[0].bash.startsWith("agentops hook copilot --event preToolUse"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("uninstall removes exactly what install wrote, for every agent", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const theirs = {
      "claude-code": [".claude/settings.local.json", {
        model: "opus",
        hooks: { PreToolUse: [{ matcher: "Bash", hooks: [{ type: "command", command: "./x" }] }] },
      }],
      cursor: [".cursor/hooks.json", {
        version: 1,
        hooks: { beforeShellExecution: [{ command: "./audit.sh" }] },
      }],
      codex: [".codex/hooks.json", { hooks: {} }],
      gemini: [".gemini/settings.json", { theme: "dark" }],
    } as const;
    for (const [agent, [rel, content]] of Object.entries(theirs)) {
      await Deno.mkdir(`${dir}/${rel.split("/")[0]}`, { recursive: true });
      await Deno.writeTextFile(`${dir}/${rel}`, JSON.stringify(content));
      await install(dir, agent as Agent, { policy: DEFAULT_POLICY, launcher: "agentops" });
      assert(isOurs(await Deno.readTextFile(`${dir}/${rel}`)), agent);
      await uninstall(dir, agent as Agent);
      assertEquals(await readJson(`${dir}/${rel}`), content, agent);
    }
    // Files install created are removed again.
    for (const agent of ["copilot", "codex"] as Agent[]) {
      const fresh = await Deno.makeTempDir();
      const { path } = await install(fresh, agent, {
        policy: DEFAULT_POLICY,
        launcher: "agentops",
      });
      await uninstall(fresh, agent);
      await assertRejects(() => Deno.stat(path));
      await Deno.remove(fresh, { recursive: true });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("install refuses to overwrite a settings file that is not valid JSON", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/.cursor`);
    await Deno.writeTextFile(`${dir}/.cursor/hooks.json`, "{ not json");
    await assertRejects(() => install(dir, "cursor", { policy: DEFAULT_POLICY, launcher: "x" }));
    assertEquals(await Deno.readTextFile(`${dir}/.cursor/hooks.json`), "{ not json");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
