import { assert, assertEquals, assertRejects } from "../tests/_helpers/assert.ts";
import { install, isOurs } from "./install.ts";
import { DEFAULT_POLICY, hostTimeoutSeconds } from "./policy.ts";

const LAUNCHER = "/usr/bin/deno run -A /opt/agentops/client/cli.ts";

async function readJson(path: string) {
  return JSON.parse(await Deno.readTextFile(path));
}

Deno.test("install claude-code keeps other hooks, is idempotent, and times out above the TTL", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/.claude`);
    const mine = { type: "command", command: "./format.sh" };
    await Deno.writeTextFile(
      `${dir}/.claude/settings.json`,
      JSON.stringify({
        permissions: { allow: ["Bash(npm test)"] },
        hooks: { PreToolUse: [{ matcher: "Edit", hooks: [mine] }] },
      }),
    );
    const path = await install(dir, "claude-code", {
      policy: DEFAULT_POLICY,
      launcher: LAUNCHER,
    });
    const once = await readJson(path);
    await install(dir, "claude-code", { policy: DEFAULT_POLICY, launcher: LAUNCHER });
    const twice = await readJson(path);
    assertEquals(twice, once);
    assertEquals(once.permissions, { allow: ["Bash(npm test)"] });
    assertEquals(once.hooks.PreToolUse[0], { matcher: "Edit", hooks: [mine] });
    const bash = once.hooks.PreToolUse[1];
    assertEquals(bash.matcher, "Bash");
    assertEquals(bash.hooks[0].timeout, hostTimeoutSeconds(DEFAULT_POLICY));
    assert(bash.hooks[0].timeout > DEFAULT_POLICY.approval_ttl_seconds);
    assertEquals(bash.hooks[0].onFailure, "block");
    assertEquals(
      bash.hooks[0].command,
      `${LAUNCHER} hook claude-code --timeout ${hostTimeoutSeconds(DEFAULT_POLICY)}`,
    );
    for (
      const event of ["PermissionRequest", "SessionStart", "Stop", "StopFailure", "Notification"]
    ) {
      assertEquals(once.hooks[event].length, 1, event);
      assert(isOurs(once.hooks[event][0].hooks[0].command), event);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("install cursor writes version 1 flat arrays with failClosed on the approval hook", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = await install(dir, "cursor", { policy: DEFAULT_POLICY, launcher: LAUNCHER });
    await install(dir, "cursor", { policy: DEFAULT_POLICY, launcher: "agentops" });
    const config = await readJson(path);
    assertEquals(path, `${dir}/.cursor/hooks.json`);
    assertEquals(config.version, 1);
    assertEquals(config.hooks.beforeShellExecution, [{
      command: `agentops hook cursor --timeout ${hostTimeoutSeconds(DEFAULT_POLICY)}`,
      timeout: hostTimeoutSeconds(DEFAULT_POLICY),
      failClosed: true,
    }]);
    for (const event of ["afterShellExecution", "sessionStart", "sessionEnd", "stop"]) {
      assertEquals(config.hooks[event].length, 1, event);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("install codex writes PermissionRequest, SessionStart and Stop into .codex/hooks.json", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = await install(dir, "codex", { policy: DEFAULT_POLICY, launcher: LAUNCHER });
    const config = await readJson(path);
    assertEquals(Object.keys(config.hooks).sort(), ["PermissionRequest", "SessionStart", "Stop"]);
    assertEquals(config.hooks.PermissionRequest[0].matcher, "Bash");
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
