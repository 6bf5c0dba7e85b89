// Hook latency (docs/contract/targets.md#benchmarks, issue 14): a hook that needs no approval, as
// the agent runs it (a fresh `deno run … client/cli.ts hook <agent>` process, payload on stdin →
// answer on stdout, backend up), against a script on the same runtime that reads stdin
// and sends one HTTP request (bench/lib/stdin_http.ts). Target: ≤ 1.5 × the baseline.
//   deno run -A bench/hook_latency.ts                      (HOOK_RUNS=15)
// The backend is a loopback server that answers bridge-event as the real one does (202
// with the stored event), for the runner and the baseline alike, so the ratio is the hook
// runner's own cost; the approval path is not measured (it waits for a human).
import { freePort } from "./lib/ports.ts";
import { type BenchRow, progress, writeResult } from "./lib/result.ts";
import { fmt, median } from "./lib/stats.ts";

const NAME = "hook_latency";
const RUNS = Number(Deno.env.get("HOOK_RUNS") ?? 15);
const TARGET = 1.5;
const FIXTURES = "tests/fixtures/hooks";

const port = freePort();
let requests = 0;
const server = Deno.serve({ port, hostname: "127.0.0.1", onListen() {} }, async (req) => {
  requests++;
  const text = await req.text();
  let eventId: string = crypto.randomUUID();
  try {
    eventId = JSON.parse(text).event_id ?? eventId;
  } catch { /* baseline body */ }
  return Response.json(
    { event_id: eventId, run_id: crypto.randomUUID(), run_status: "RUNNING", duplicate: false },
    { status: 202 },
  );
});
const url = `http://127.0.0.1:${port}/functions/v1`;

const project = await Deno.makeTempDir({ prefix: "agentops-bench-" });
await Deno.mkdir(`${project}/.agentops`, { mode: 0o700 });
await Deno.writeTextFile(
  `${project}/.agentops/credentials.json`,
  JSON.stringify({
    url,
    workspace_id: crypto.randomUUID(),
    bridge_secret: "b".repeat(43),
    machine_id: "bench",
    workspace_fingerprint: "bench",
    display_name: "bench",
    paired_at: new Date().toISOString(),
  }),
  { mode: 0o600 },
);

async function timed(args: string[], stdin: string, env: Record<string, string>) {
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--cached-only", ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env,
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(stdin));
  await writer.close();
  const out = await child.output();
  const ms = performance.now() - started;
  if (!out.success) {
    throw new Error(`${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return ms;
}

const cases = [
  {
    what: "SessionStart (one signed bridge-event)",
    payload: await Deno.readTextFile(`${FIXTURES}/claude-code-sessionstart.json`),
  },
  {
    what: "PreToolUse of a command outside the policy (no request)",
    payload: JSON.stringify({
      ...JSON.parse(await Deno.readTextFile(`${FIXTURES}/claude-code-pretooluse-bash.json`)),
      tool_input: { command: "ls -la" },
    }),
  },
];
const env = { AGENTOPS_URL: url, AGENTOPS_PROJECT_DIR: project, BASELINE_URL: `${url}/echo` };
try {
  const baselineArgs = ["bench/lib/stdin_http.ts"];
  const hookArgs = ["client/cli.ts", "hook", "claude-code"];
  // Warm the module and V8 code caches (as on a developer's machine after the first hook).
  await timed(baselineArgs, cases[0].payload, env);
  for (const c of cases) await timed(hookArgs, c.payload, env);
  const baseline: number[] = [];
  const samples = cases.map(() => [] as number[]);
  for (let i = 0; i < RUNS; i++) {
    baseline.push(await timed(baselineArgs, cases[0].payload, env));
    for (const [j, c] of cases.entries()) samples[j].push(await timed(hookArgs, c.payload, env));
  }
  const base = median(baseline);
  const rows: BenchRow[] = cases.map((c, j) => {
    const measured = median(samples[j]);
    const ratio = measured / base;
    progress(NAME, `${c.what}: ${fmt(measured, "ms")} (${fmt(ratio)}× baseline)`);
    return {
      what: `hook that needs no approval: ${c.what}, stdin → answer, median of ${RUNS}`,
      target: `≤ ${TARGET} × a script reading stdin and sending one HTTP request`,
      measured: fmt(measured, "ms"),
      baseline: fmt(base, "ms"),
      ratio,
      pass: ratio <= TARGET,
      note: ratio <= TARGET
        ? undefined
        : `${fmt((ratio / TARGET - 1) * 100)} % over the target: the runner imports the ` +
          "signing code, the SDK and the command policy (valibot only with a policy file), and " +
          "writes the event to the on-disk queue before sending it (at-least-once delivery)",
    };
  });
  progress(NAME, `baseline: ${fmt(base, "ms")}; ${requests} requests served`);
  const path = await writeResult({
    name: NAME,
    command: "deno run -A bench/hook_latency.ts",
    rows,
    distributions: [{
      title: "Hook that needs no approval vs stdin + one HTTP request (same runtime)",
      unit: "ms",
      series: { project: samples.flat(), baseline },
    }],
    notes: [
      `Each sample spawns \`deno run -A --cached-only\` (warm module and code caches), ` +
      `writes the payload to stdin and waits for the process to exit; ${RUNS} runs each, ` +
      `interleaved. The backend is a loopback stub answering 202 like bridge-event.`,
    ],
  });
  progress(NAME, `wrote ${path}`);
} finally {
  await server.shutdown();
  await Deno.remove(project, { recursive: true });
}
