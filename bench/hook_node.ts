// bench/hook_node: what an agent pays per hook with the npm package (issue 16). The
// installed `agentops` (npm pack → npm install -g into a temp prefix, run on Node) from
// spawn to its answer on stdout and exit, against `node -e 0` (Node's own start, the floor
// any Node CLI pays); and, for context, the same hook through `deno run -A client/cli.ts`.
//   node scripts/with_test_db.mjs deno run -A bench/hook_node.ts   (HOOK_RUNS=15)
import { startStack } from "../tests/_helpers/stack.ts";
import { randomWorkspace } from "../tests/_helpers/fixtures.ts";
import { CLI, hookPayload, testProject } from "../tests/_helpers/agentops.ts";
import { installPackedCli } from "../tests/_helpers/agentops_package.ts";
import { type BenchRow, progress, writeResult } from "./lib/result.ts";
import { fmt, summarize } from "./lib/stats.ts";

const NAME = "hook_node";
const RUNS = Number(Deno.env.get("HOOK_RUNS") ?? 15);

/** Spawn → exit with stdin written and stdout read, in ms. */
async function timed(
  cmd: string,
  args: string[],
  options: { stdin?: string; env?: Record<string, string>; cwd?: string } = {},
): Promise<number> {
  const started = performance.now();
  const child = new Deno.Command(cmd, {
    args,
    cwd: options.cwd,
    env: options.env,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  if (options.stdin) await writer.write(new TextEncoder().encode(options.stdin));
  await writer.close();
  const out = await child.output();
  const ms = performance.now() - started;
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return ms;
}

const cli = await installPackedCli();
const stack = await startStack();
try {
  const ws = await randomWorkspace(stack.sql);
  const project = await testProject(stack, ws);
  const opts = { env: project.env, cwd: project.dir };
  const local = JSON.stringify(
    await hookPayload("claude-code-pretooluse-bash", {
      tool_input: { command: "ls -la" },
      tool_use_id: "toolu_bench",
    }),
  );
  const event = (i: number) =>
    JSON.stringify({ session_id: `bench-${i}`, hook_event_name: "SessionStart" });
  const node = Deno.env.get("NODE") ?? "node";
  const samples = { node: [] as number[], local: [] as number[], event: [] as number[] };
  const denoSamples: number[] = [];
  // One unmeasured run each (disk caches), then interleaved runs.
  await timed(node, ["-e", "0"]);
  await timed(cli.bin, ["hook", "claude-code"], { ...opts, stdin: local });
  await timed(Deno.execPath(), ["run", "-A", CLI, "hook", "claude-code"], {
    ...opts,
    stdin: local,
  });
  for (let i = 0; i < RUNS; i++) {
    samples.node.push(await timed(node, ["-e", "0"]));
    samples.local.push(await timed(cli.bin, ["hook", "claude-code"], { ...opts, stdin: local }));
    samples.event.push(
      await timed(cli.bin, ["hook", "claude-code"], { ...opts, stdin: event(i) }),
    );
    denoSamples.push(
      await timed(Deno.execPath(), ["run", "-A", CLI, "hook", "claude-code"], {
        ...opts,
        stdin: local,
      }),
    );
    progress(NAME, `run ${i + 1}/${RUNS}`);
  }
  const [{ n }] = await stack.sql`select count(*)::int as n from public.runs`;
  if (n < RUNS) throw new Error(`expected ${RUNS} runs stored by the event hooks, found ${n}`);
  const base = summarize(samples.node);
  const row = (what: string, s: number[], note?: string): BenchRow => {
    const sum = summarize(s);
    return {
      what,
      target: "report (issue 16)",
      measured: `p50 ${fmt(sum.p50, "ms")}, p90 ${fmt(sum.p90, "ms")}`,
      baseline: `node -e 0: p50 ${fmt(base.p50, "ms")}, p90 ${fmt(base.p90, "ms")}`,
      ratio: Number((sum.p50 / base.p50).toFixed(2)),
      pass: null,
      note,
    };
  };
  const rows = [
    row("installed agentops, PreToolUse needing no approval (no network)", samples.local),
    row("installed agentops, SessionStart event sent to the local stack", samples.event),
    row(
      "deno run -A client/cli.ts, PreToolUse needing no approval",
      denoSamples,
      "the pre-package way, for context",
    ),
  ];
  for (const r of rows) console.log(`${r.what}: ${r.measured} = ${r.ratio} × ${r.baseline}`);
  const dist = await Array.fromAsync(
    Deno.readDir(`${cli.prefix}/lib/node_modules/${cli.name}/dist/chunks`),
  );
  const path = await writeResult({
    name: NAME,
    command: "node scripts/with_test_db.mjs deno run -A bench/hook_node.ts",
    rows,
    distributions: [{
      title: "Hook start-to-answer: installed agentops (no network) vs node -e 0",
      unit: "ms",
      series: { project: samples.local, baseline: samples.node },
    }],
    notes: [
      `The package as users get it: \`npm pack\` of packages/agentops, \`npm install -g ` +
      `--prefix <tmp>\`, then \`<prefix>/bin/agentops hook claude-code\` with the payload on ` +
      `stdin, timed from spawn to exit with stdout read. ${RUNS} interleaved runs after ` +
      `one unmeasured run each. Tarball ${(cli.tarballBytes / 1024).toFixed(0)} KiB; ` +
      `the entry plus ${dist.length} lazily loaded chunks.`,
    ],
  });
  progress(NAME, `wrote ${path}`);
  await project.close();
} finally {
  await stack.close();
  await cli.close();
}
