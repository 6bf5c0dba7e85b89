import { assert, assertEquals } from "../tests/_helpers/assert.ts";
import { runHook } from "./runner.ts";

const FIXTURES = new URL("../tests/fixtures/hooks/", import.meta.url);

async function fixture(name: string, extra: Record<string, unknown> = {}): Promise<string> {
  const json = JSON.parse(await Deno.readTextFile(new URL(`${name}.json`, FIXTURES)));
  return JSON.stringify({ ...json, ...extra });
}

async function withProject(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("runHook() steps aside on empty or unreadable stdin instead of denying", async () => {
  await withProject(async (project) => {
    for (const raw of ["", "  \n", "not json", "[1,2]", "null"]) {
      assertEquals((await runHook("cursor", raw, { project })).stdout, "{}", raw);
      assertEquals((await runHook("claude-code", raw, { project })).stdout, "", raw);
    }
  });
});

Deno.test("runHook() answers an unpaired project's approval with the no_device fallback", async () => {
  await withProject(async (project) => {
    await Deno.mkdir(`${project}/.agentops`);
    await Deno.writeTextFile(
      `${project}/.agentops/policy.json`,
      JSON.stringify({ fallback: { no_device: "deny" } }),
    );
    const out = await runHook("cursor", await fixture("cursor-beforeshellexecution"), { project });
    const answer = JSON.parse(out.stdout);
    assertEquals(answer.permission, "deny");
    assert(answer.user_message.includes("not paired"));
  });
});

Deno.test("runHook() denies approvals when the policy file is broken", async () => {
  await withProject(async (project) => {
    await Deno.mkdir(`${project}/.agentops`);
    await Deno.writeTextFile(`${project}/.agentops/policy.json`, "{ broken");
    const out = await runHook(
      "claude-code",
      await fixture("claude-code-pretooluse-bash"),
      { project },
    );
    assertEquals(JSON.parse(out.stdout).hookSpecificOutput.permissionDecision, "deny");
  });
});

Deno.test("runHook() never crashes at the agent: a failure asks locally or steps aside", async () => {
  await withProject(async (project) => {
    // .agentops/queue is a file, so queueing an event fails.
    await Deno.mkdir(`${project}/.agentops`);
    await Deno.writeTextFile(`${project}/.agentops/queue`, "");
    const event = await runHook("claude-code", await fixture("claude-code-sessionstart"), {
      project,
    });
    assertEquals([event.exitCode, event.stdout], [0, ""]);
    assert(event.note.includes("failed"));
    const stop = await runHook("cursor", await fixture("cursor-stop"), { project });
    assertEquals([stop.exitCode, stop.stdout], [0, "{}"]);
  });
});
