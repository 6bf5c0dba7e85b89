import { assert, assertEquals } from "../tests/_helpers/assert.ts";
import { normalizeCommand, parseShell, simpleCommands } from "./shell_commands.ts";

Deno.test("simpleCommands() finds every simple command, in substitutions and nested scripts", async () => {
  assertEquals(
    await simpleCommands("FOO=1 /usr/bin/git   log --oneline | head -n 3 && echo $(date)"),
    [["git", "log", "--oneline"], ["head", "-n", "3"], ["echo", "$(date)"], ["date"]],
  );
  assertEquals(await simpleCommands(`bash -c "npm test; git push" && eval 'ls -l'`), [
    ["npm", "test"],
    ["git", "push"],
    ["ls", "-l"],
  ]);
  assertEquals(await simpleCommands("cat <(sort a) `pwd`; (cd x; { make; })"), [
    ["cat", "<(sort a)", "`pwd`"],
    ["sort", "a"],
    ["pwd"],
    ["cd", "x"],
    ["make"],
  ]);
});

Deno.test("simpleCommands() strips wrappers and resolves quoted literals", async () => {
  assertEquals(
    await simpleCommands(
      "env -u X A=1 nice -n 5 timeout -k 1 10s nohup command stdbuf -oL 'r'\"m\" r\\m",
    ),
    [["rm", "rm"]],
  );
  assertEquals(await simpleCommands("sudo -u root ls"), [["sudo", "-u", "root", "ls"], ["ls"]]);
  assertEquals(await simpleCommands("find . -name '*.ts' -exec grep -l x {} + | xargs -0 wc"), [
    ["find", ".", "-name", "*.ts"],
    ["grep", "-l", "x", "{}"],
    ["wc"],
  ]);
});

Deno.test("parseShell() marks words only known at run time and how a command was reached", async () => {
  const parsed = await parseShell(`$X -rf "$HOME" r* ok; xargs -I{} sh -c 'rm {}'`);
  assert(parsed.ok);
  const [computed, removal] = parsed.commands;
  assertEquals(computed.words, ["$X", "-rf", '"$HOME"', "r*", "ok"]);
  assertEquals(computed.literal, [false, true, false, false, true]);
  assertEquals(removal.words, ["rm", "{}"]);
  assertEquals(removal.via, ["xargs", "sh -c"]);
  assertEquals(removal.extraArgs, false); // xargs' words go to sh, not to rm
  const xargs = await parseShell("xargs wc -l");
  assert(xargs.ok && xargs.commands[0].extraArgs);
});

Deno.test("parseShell() reports redirections that write, and assignments", async () => {
  const parsed = await parseShell("PATH=. ls > out 2>&1 < in; { echo; } >> ~/x; exec 3>&-");
  assert(parsed.ok);
  assertEquals(parsed.writes.map((w) => w.target), ["out", "~/x"]);
  assertEquals(parsed.assigns, ["PATH"]);
});

Deno.test("parseShell() refuses what it cannot parse, and nested scripts it cannot read", async () => {
  const broken = await parseShell('echo "unterminated');
  assert(!broken.ok);
  assert(broken.error.includes("quote"), broken.error);
  assertEquals(await simpleCommands("ls )"), null);
  const nested = await parseShell("bash -c 'echo \"x'");
  assert(nested.ok);
  assert(nested.commands[0].unreadable?.startsWith("cannot parse"));
  let deep = "rm x";
  for (let i = 0; i < 10; i++) deep = `eval ${JSON.stringify(deep)}`;
  const tooDeep = await parseShell(deep);
  assert(tooDeep.ok && tooDeep.commands.some((c) => c.unreadable === "scripts nested too deep"));
});

Deno.test("normalizeCommand() joins the words with single spaces", () => {
  assertEquals(normalizeCommand(["git", "push", "--force"]), "git push --force");
});
