import { assert, assertEquals, assertMatch, assertRejects } from "../tests/_helpers/assert.ts";
import { DEFAULT_POLICY, evaluateCommand, hostTimeoutSeconds, loadPolicy } from "./policy.ts";
import { parsePolicy } from "./policy_schema.ts";

Deno.test("evaluateCommand() asks for dangerous and unknown commands and lets read-only ones run", async () => {
  const cases: Array<[string, boolean, string]> = [
    ["rm -rf node_modules", true, "dangerous"],
    ["git push --force origin main", true, "dangerous"],
    ["npm publish", true, "dangerous"],
    ["npm test", true, "other"],
    ["ls -la", false, "read_only"],
    ["git status && git diff | head", false, "read_only"],
  ];
  for (const [command, needsApproval, risk] of cases) {
    const verdict = await evaluateCommand(DEFAULT_POLICY, command);
    assertEquals([verdict.needsApproval, verdict.risk], [needsApproval, risk], command);
  }
});

Deno.test("evaluateCommand() names the simple command that decided, and lists them all", async () => {
  const verdict = await evaluateCommand(DEFAULT_POLICY, "cd /tmp && FOO=1 /bin/rm -rf build");
  assertEquals(verdict.commands, [["cd", "/tmp"], ["rm", "-rf", "build"]]);
  assert(verdict.reason.startsWith("rm -rf build: "), verdict.reason);
  const nested = await evaluateCommand(DEFAULT_POLICY, "ls; bash -c 'echo $(git push)'");
  assertEquals(nested.reason, "git push: pushes to a remote");
});

Deno.test("unknown_commands: allow keeps only the dangerous list (a blocklist)", async () => {
  const policy = parsePolicy({ unknown_commands: "allow" });
  assertEquals((await evaluateCommand(policy, "npm test && make")).needsApproval, false);
  assertEquals((await evaluateCommand(policy, "npm test && rm -rf x")).needsApproval, true);
  assertEquals((await evaluateCommand(policy, "$X -rf /")).needsApproval, true);
  assertEquals((await evaluateCommand(policy, "echo hi > ~/.bashrc")).needsApproval, true);
});

Deno.test("a command that cannot be parsed always needs approval", async () => {
  const policy = parsePolicy({ unknown_commands: "allow", allow: ["*"] });
  const verdict = await evaluateCommand(policy, 'echo "unterminated');
  assertEquals(verdict.needsApproval, true);
  assert(verdict.reason.startsWith("cannot parse"), verdict.reason);
});

Deno.test("policy globs match each normalized simple command, never the raw string", async () => {
  const policy = parsePolicy({
    require_approval: ["re:^(make|just) deploy", "npm run release*"],
    allow: ["rm -rf node_modules", "npm test*"],
  });
  const needs = async (command: string) => (await evaluateCommand(policy, command)).needsApproval;
  // allow wins for the commands it matches, even dangerous ones, whatever the spelling …
  assertEquals(await needs("rm -rf node_modules"), false);
  assertEquals(await needs("FOO=1 /bin/rm   -rf 'node_modules'"), false);
  assertEquals(await needs("npm test -- --watch=false"), false);
  // … but a compound command runs unasked only if every part does.
  assertEquals(await needs("rm -rf node_modules && rm -rf /"), true);
  assertEquals(await needs("npm test; curl x | sh"), true);
  // require_approval adds to the dangerous list, matched on the parsed words.
  assertEquals(await needs("ls && make   deploy prod"), true);
  assertEquals(await needs('bash -c "npm run release:minor"'), true);
  assertEquals(
    (await evaluateCommand(policy, "env X=1 npm run release")).reason,
    'npm run release: matches require_approval "npm run release*"',
  );
  // an allow pattern cannot cover a write outside the project, nor a computed program name.
  assertEquals(await needs("npm test > /etc/x"), true);
  const everything = parsePolicy({ allow: ["*"] });
  assertEquals((await evaluateCommand(everything, "$X -rf /")).needsApproval, true);
  assertEquals((await evaluateCommand(everything, "rm -rf / && git push")).needsApproval, false);
});

Deno.test("writes inside the project (cwd) are other, outside it dangerous", async () => {
  const policy = parsePolicy({ unknown_commands: "allow" });
  const cwd = "/home/me/repo";
  const risk = async (c: string) => (await evaluateCommand(policy, c, { cwd })).risk;
  assertEquals(await risk("echo x > /home/me/repo/out.txt"), "other");
  assertEquals(await risk("echo x > out.txt"), "other");
  assertEquals(await risk("echo x > /home/me/repo/../.bashrc"), "dangerous");
  assertEquals(await risk("echo x > /dev/null"), "read_only");
});

Deno.test("the host timeout stays above the approval TTL", () => {
  assert(hostTimeoutSeconds(DEFAULT_POLICY) > DEFAULT_POLICY.approval_ttl_seconds);
});

Deno.test("loadPolicy() reads defaults for what a file leaves out and refuses unknown keys", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assertEquals(await loadPolicy(`${dir}/missing.json`), DEFAULT_POLICY);
    await Deno.writeTextFile(
      `${dir}/p.json`,
      JSON.stringify({ fallback: { unreachable: "deny" } }),
    );
    const policy = await loadPolicy(`${dir}/p.json`);
    assertEquals(policy.fallback, { unreachable: "deny", no_device: "ask", timeout: "deny" });
    assertEquals(policy.require_approval, DEFAULT_POLICY.require_approval);
    assertEquals(policy.unknown_commands, "ask");
    await Deno.writeTextFile(`${dir}/bad.json`, JSON.stringify({ fallbak: {} }));
    await assertRejects(() => loadPolicy(`${dir}/bad.json`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("evaluateCommand() lets allow rules vouch only for literal commands with no dangerous write", async () => {
  const policy = parsePolicy({});
  const plain = await evaluateCommand(policy, "npm run test && git status", { cwd: "/work/p" });
  assertEquals(plain.ruleMayAllow, true);
  assertEquals(plain.readOnly, ["git status"]);
  for (
    const command of ["npm run test > /etc/passwd", "$TOOL run test", "echo `id` > ~/.bashrc"]
  ) {
    const judged = await evaluateCommand(policy, command, { cwd: "/work/p" });
    assertEquals(judged.ruleMayAllow, false, command);
  }
});

Deno.test("DEFAULT_POLICY is what the schema makes of an empty policy file", () => {
  assertEquals(DEFAULT_POLICY, parsePolicy({}));
});

Deno.test("parsePolicy() refuses a malformed policy, naming each wrong field", () => {
  const bad = { allow: [""], approval_ttl_seconds: 5, fallback: { timeout: "maybe" }, x: 1 };
  let message = "";
  try {
    parsePolicy(bad, ".agentops/policy.json");
  } catch (error) {
    message = (error as Error).message;
  }
  assertMatch(message, /^Cannot read policy \.agentops\/policy\.json: /);
  for (const field of ["allow.0", "approval_ttl_seconds", "fallback.timeout", "x"]) {
    assertMatch(message, new RegExp(`(: |; )${field.replace(".", "\\.")}: `), field);
  }
});
