import { assert, assertEquals, assertMatch } from "../tests/_helpers/assert.ts";
import { COMMANDS, helpText, main, parseCommand, suggest, UsageError } from "./cli.ts";
import { clockCheck, filesOf, programOf } from "./doctor.ts";
import { describeError, explainFetch, NetworkError, networkReason } from "./net_errors.ts";
import { markInstalledPackage, packageLauncher } from "./launcher.ts";
import { defaultLauncher, isOurs } from "./install.ts";

/** Runs main() with console.log / console.error captured. */
async function capture(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const { log, error } = console;
  console.log = (...a: unknown[]) => void out.push(a.join(" "));
  console.error = (...a: unknown[]) => void err.push(a.join(" "));
  try {
    const code = await main(argv);
    return { code, stdout: out.join("\n"), stderr: err.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
  }
}

Deno.test("main() answers --help and -h on every command and subcommand with exit 0", async () => {
  for (const c of COMMANDS) {
    const paths = [[c.name], ...(c.subcommands ?? []).map((s) => [c.name, s.name])];
    for (const path of paths) {
      for (const flag of ["--help", "-h"]) {
        const r = await capture([...path, flag]);
        assertEquals(r.code, 0, `${path.join(" ")} ${flag}: ${r.stderr}`);
        assert(r.stdout.startsWith(`agentops ${path.join(" ")} — `), r.stdout);
      }
    }
  }
  assertEquals((await capture(["--help"])).code, 0);
  assertMatch((await capture(["--version"])).stdout, /^agentops \d+\.\d+\.\d+/);
});

Deno.test("main() refuses unknown commands and options with exit 2 and a suggestion", async () => {
  const cases: [string[], RegExp][] = [
    [["instal"], /unknown command "instal" \(did you mean install\?\)/],
    [["stauts"], /did you mean status\?/],
    [["pair", "--nme", "x"], /agentops pair: unknown option --nme \(did you mean --name\?\)/],
    [["hook", "claude"], /unknown agent "claude" \(did you mean claude-code\?\)/],
    [["audit", "verfy", "x"], /unknown subcommand "verfy" \(did you mean verify\?\)/],
    [["audit", "verify"], /missing arguments/],
    [["audit", "verify", "not-a-uuid"], /is not a run id/],
    [["status", "extra"], /unexpected argument "extra"/],
    [["--projet", "x", "status"], /unknown option --projet \(did you mean --project\?\)/],
    [["xyzzy"], /unknown command "xyzzy"\n/],
  ];
  for (const [argv, pattern] of cases) {
    const r = await capture(argv);
    assertEquals(r.code, 2, argv.join(" "));
    assertMatch(r.stderr, pattern);
    assertMatch(r.stderr, /Run `agentops.* --help` for usage\./);
  }
  const bare = await capture([]);
  assertEquals(bare.code, 2);
  assert(bare.stderr.includes("agentops pair"), bare.stderr);
});

Deno.test("suggest() offers close names only", () => {
  assertEquals(suggest("instal", ["install", "status"]), "install");
  assertEquals(suggest("doctr", ["doctor", "flush"]), "doctor");
  assertEquals(suggest("banana", ["install", "status"]), null);
  assert(helpText().includes("agentops doctor"));
});

Deno.test("clockCheck() fails at the ±300 s signature window and warns past a minute", () => {
  const now = Date.parse("2026-11-29T12:00:00Z");
  assertEquals(clockCheck(new Date(now).toUTCString(), now + 400).status, "ok");
  assertEquals(clockCheck(new Date(now).toUTCString(), now + 90_000).status, "warn");
  const ahead = clockCheck(new Date(now).toUTCString(), now + 301_000);
  assertEquals(ahead.status, "fail");
  assertMatch(ahead.message, /301 s ahead of the backend/);
  assertEquals(clockCheck(new Date(now).toUTCString(), now - 600_000).status, "fail");
  assertEquals(clockCheck(null, now).status, "warn");
});

Deno.test("programOf() reads the program a hook command starts", () => {
  assertEquals(
    programOf("/usr/local/bin/agentops hook cursor --timeout 30"),
    "/usr/local/bin/agentops",
  );
  assertEquals(programOf('"/Users/a b/bin/agentops" hook cursor'), "/Users/a b/bin/agentops");
  assertEquals(programOf("npx --yes --package=agentops-cli@0.1.0 agentops hook cursor"), "npx");
  assertEquals(programOf("'/home/a b/deno' run -A '/x y/cli.ts' hook cursor"), "/home/a b/deno");
  assertEquals(
    filesOf("/usr/bin/node '/opt/a b/dist/agentops.mjs' hook copilot --event preToolUse"),
    ["/usr/bin/node", "/opt/a b/dist/agentops.mjs"],
  );
  assertEquals(filesOf("'/home/me/deno' run -A '/x y/cli.ts' hook cursor --timeout 30"), [
    "/home/me/deno",
    "/x y/cli.ts",
  ]);
  assertEquals(filesOf("agentops hook cursor"), ["agentops"]);
});

Deno.test("explainFetch() names the URL and the fix when a connection is refused", async () => {
  const refused = () => {
    throw new TypeError("fetch failed", { cause: { code: "ECONNREFUSED" } });
  };
  const f = explainFetch(refused as unknown as typeof fetch);
  let caught: unknown;
  try {
    await f("http://127.0.0.1:54321/functions/v1/pair-start");
  } catch (error) {
    caught = error;
  }
  assert(caught instanceof NetworkError);
  assertMatch(
    describeError(new Error("wrapped", { cause: caught })),
    /^Cannot reach http:\/\/127\.0\.0\.1:54321\/functions\/v1\/pair-start: connection refused\. Is `npm run dev` running/,
  );
  assertEquals(networkReason(new Error("invalid_request")), null);
});

Deno.test("packageLauncher() calls the installed bin, or npx from the npx cache", () => {
  assertEquals(
    packageLauncher("/usr/local/bin/agentops", "/usr/bin/node").launcher,
    "/usr/local/bin/agentops",
  );
  assertEquals(
    packageLauncher("/home/a b/.local/bin/agentops", "/usr/bin/node").launcher,
    "'/home/a b/.local/bin/agentops'",
  );
  const npx = packageLauncher("/home/a/.npm/_npx/1f2e/node_modules/.bin/agentops", "/usr/bin/node");
  assert(npx.npx);
  assertMatch(npx.launcher, /^npx --yes --package=agentops-cli@\d+\.\d+\.\d+ agentops$/);
  assertEquals(
    packageLauncher("/opt/x/dist/agentops.mjs", "/usr/bin/node").launcher,
    "/usr/bin/node /opt/x/dist/agentops.mjs",
  );
});

Deno.test("defaultLauncher() calls the installed package, not node, when agentops is not on PATH", () => {
  const path = Deno.env.get("PATH");
  Deno.env.set("PATH", "/nonexistent-agentops-test");
  try {
    markInstalledPackage(
      "/opt/a b/lib/node_modules/agentops-cli/dist/agentops.mjs",
      "/usr/bin/node",
    );
    assertEquals(defaultLauncher(), {
      command: "/usr/bin/node '/opt/a b/lib/node_modules/agentops-cli/dist/agentops.mjs'",
      portable: false,
    });
    markInstalledPackage("/home/a/.npm/_npx/1f2e/node_modules/.bin/agentops", "/usr/bin/node");
    assertMatch(defaultLauncher().command, /^npx --yes --package=agentops-cli@\S+ agentops$/);
    markInstalledPackage(null);
    assertMatch(defaultLauncher().command, /deno.* run -A .*cli\.ts/);
    // install and uninstall recognise every one of these as their own entries.
    for (
      const launcher of [
        "/usr/bin/node '/opt/a b/lib/node_modules/agentops-cli/dist/agentops.mjs'",
        "/usr/bin/node /opt/agentops-cli/dist/agentops.mjs",
        "npx --yes --package=agentops-cli@0.1.0 agentops",
        "'/home/a b/.local/bin/agentops'",
      ]
    ) assert(isOurs(`${launcher} hook copilot --event preToolUse --timeout 330`), launcher);
  } finally {
    markInstalledPackage(null);
    if (path === undefined) Deno.env.delete("PATH");
    else Deno.env.set("PATH", path);
  }
});

Deno.test("the options parser: values, =values, booleans, short -h, -- and errors", () => {
  const cmd = {
    options: { note: { type: "string" as const }, follow: { type: "boolean" as const } },
  };
  assertEquals(parseCommand(cmd, ["x"], ["a", "--note", "hi there", "--follow", "b"]), {
    values: { note: "hi there", follow: true },
    positionals: ["a", "b"],
  });
  assertEquals(parseCommand(cmd, ["x"], ["--note=-1", "-h", "--", "rm", "-rf"]), {
    values: { note: "-1", help: true },
    positionals: ["rm", "-rf"],
  });
  for (const argv of [["--note"], ["--note", "--follow"], ["--follow=1"], ["--nope"], ["-x"]]) {
    let threw = false;
    try {
      parseCommand(cmd, ["x"], argv);
    } catch (error) {
      threw = error instanceof UsageError;
    }
    assert(threw, argv.join(" "));
  }
});

/** readStdin() in a child process whose stdin this test writes; its answer as JSON. */
async function readStdinInChild(
  timeoutMs: number,
  feed: (stdin: WritableStreamDefaultWriter<Uint8Array>) => Promise<void>,
): Promise<{ length: number; sha: string }> {
  const cli = new URL("./cli.ts", import.meta.url).href;
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `import { readStdin } from "${cli}";
       const text = await readStdin(${timeoutMs});
       const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
       const sha = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0"));
       console.log(JSON.stringify({ length: text.length, sha: sha.join("") }));
       Deno.exit(0);`,
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  // A reader that never returns fails the test instead of hanging it.
  const guard = setTimeout(() => child.kill(), 60_000);
  const writer = child.stdin.getWriter();
  const fed = feed(writer);
  const out = await child.output();
  clearTimeout(guard);
  await fed;
  await writer.close().catch(() => {});
  assert(out.success, "the child failed");
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("readStdin() reads a payload of many reads to its end, multi-byte characters intact", async () => {
  // 200 KiB: more than one 64 KiB read; "é" splits across read boundaries somewhere.
  const payload = JSON.stringify({ text: "é€ ".repeat(50_000) });
  const got = await readStdinInChild(60_000, async (stdin) => {
    const bytes = new TextEncoder().encode(payload);
    for (let at = 0; at < bytes.length; at += 10_007) {
      await stdin.write(bytes.subarray(at, at + 10_007));
    }
    await stdin.close();
  });
  assertEquals(got, { length: payload.length, sha: await sha256(payload) });
});

Deno.test("readStdin() answers an empty payload when stdin stays open past its timeout", async () => {
  // Half a payload and no end: the hook must not wait for ever (the runner then steps aside).
  const got = await readStdinInChild(300, (stdin) => stdin.write(new TextEncoder().encode("{")));
  assertEquals(got, { length: 0, sha: await sha256("") });
});
