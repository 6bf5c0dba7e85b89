// Cold start of each function (docs/contract/targets.md#benchmarks): a fresh `deno run` process of
// supabase/functions/<name>/index.ts → its first HTTP response, against the same for a
// hello-world Deno.serve (bench/lib/hello_world.ts). Target: ≤ 1.5 × the baseline.
//   node scripts/with_test_db.mjs deno run -A bench/cold_start.ts   (COLD_RUNS=11)
import {
  dropDatabase,
  freshDatabase,
  TEST_HMAC_SECRET,
  TEST_JWT_SECRET,
} from "../tests/_helpers/stack.ts";
import { endpoints } from "../supabase/functions/_shared/routes.ts";
import { cpuMs } from "./lib/cpu.ts";
import { freePort } from "./lib/ports.ts";
import { type BenchRow, progress, writeResult } from "./lib/result.ts";
import { fmt, median } from "./lib/stats.ts";

const NAME = "cold_start";
const RUNS = Number(Deno.env.get("COLD_RUNS") ?? 11);
const TARGET = 1.5;
/** between two connection attempts while the process starts (the resolution of a sample) */
const RETRY_MS = 0.5;

const functions = [...Deno.readDirSync("supabase/functions")]
  .filter((e) => e.isDirectory && !e.name.startsWith("_"))
  .map((e) => e.name)
  .filter((name) => {
    try {
      return Deno.statSync(`supabase/functions/${name}/index.ts`).isFile;
    } catch {
      return false;
    }
  })
  .sort();

/** The first request a client of the function sends: its own method and path, no
 * credentials (the pipeline answers it, 401 mostly, without a database round trip). */
function firstRequest(name: string): string {
  const endpoint = endpoints.find((e) => e.name === name);
  const method = endpoint?.method ?? "POST";
  const path = `/functions/v1/${name}` +
    (endpoint?.param ? "/00000000-0000-4000-8000-000000000000" : "");
  const body = method === "POST" ? "{}" : "";
  return `${method} ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\n` +
    (body ? `content-type: application/json\r\ncontent-length: ${body.length}\r\n` : "") +
    `connection: close\r\n\r\n${body}`;
}

const pause = new Int32Array(new SharedArrayBuffer(4));

interface Sample {
  /** spawn → the first bytes of the response, ms */
  wall: number;
  /** the process's CPU time at that moment, ms */
  cpu: number;
  status: string;
}

/** Starts `deno run -A <entry>`, connects as soon as it listens (a raw TCP connect every
 * 0.5 ms), sends `request` and times it to the first bytes of the response. */
async function coldStart(entry: string, request: string, env: Record<string, string>) {
  const port = freePort();
  const bytes = new TextEncoder().encode(request);
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--cached-only", entry],
    env: { ...env, PORT: String(port) },
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    while (true) {
      let conn: Deno.TcpConn;
      try {
        conn = await Deno.connect({ hostname: "127.0.0.1", port });
      } catch {
        if (performance.now() - started > 30_000) {
          throw new Error(`${entry} did not answer within 30 s`);
        }
        // blocks this thread only: a timer would add its own granularity (1 ms and more)
        Atomics.wait(pause, 0, 0, RETRY_MS);
        continue;
      }
      try {
        await conn.write(bytes);
        const head = new Uint8Array(64);
        const n = await conn.read(head);
        const wall = performance.now() - started;
        if (!n) throw new Error(`${entry} closed the connection without an answer`);
        const status = new TextDecoder().decode(head.subarray(0, n)).split(" ")[1];
        return { wall, cpu: cpuMs(child.pid), status } satisfies Sample;
      } finally {
        conn.close();
      }
    }
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* it already exited (a port another process took): the wait above timed out */ }
    await child.status;
  }
}

const databaseUrl = await freshDatabase();
const env = {
  DATABASE_URL: databaseUrl,
  HMAC_SECRET: TEST_HMAC_SECRET,
  SUPABASE_JWT_SECRET: TEST_JWT_SECRET,
  LOG_LEVEL: "error",
  PATH: Deno.env.get("PATH") ?? "",
  HOME: Deno.env.get("HOME") ?? "",
  ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR")! } : {}),
};
// The baseline runs as a function does: from a folder of its own with the functions'
// deno.json and deno.lock (Deno reads the config next to the entry, not the root's).
const HELLO = ".tmp/cold_start/hello-world/index.ts";
await Deno.mkdir(".tmp/cold_start/hello-world", { recursive: true });
await Deno.copyFile("bench/lib/hello_world.ts", HELLO);
for (const file of ["deno.json", "deno.lock"]) {
  await Deno.copyFile(
    `supabase/functions/${functions[0]}/${file}`,
    `.tmp/cold_start/hello-world/${file}`,
  );
}
try {
  // One unmeasured run each fills Deno's module and code caches, as a deploy would.
  progress(NAME, `warming the module cache for ${functions.length} functions`);
  const requests = new Map(functions.map((f) => [f, firstRequest(f)]));
  for (const entry of [HELLO, ...functions.map((f) => `supabase/functions/${f}/index.ts`)]) {
    const args = ["cache", "--quiet", entry];
    await new Deno.Command(Deno.execPath(), { args, stdout: "null", stderr: "inherit" }).output();
    await coldStart(entry, firstRequest("hello-world"), env);
  }
  const hello: Sample[] = [];
  const byFunction = new Map<string, Sample[]>(functions.map((f) => [f, []]));
  for (let run = 1; run <= RUNS; run++) {
    // Interleaved, in alternating order, so background load on a shared machine hits both
    // sides alike.
    for (const name of functions) {
      const measure = async () =>
        byFunction.get(name)!.push(
          await coldStart(`supabase/functions/${name}/index.ts`, requests.get(name)!, env),
        );
      if (run % 2) await measure();
      hello.push(await coldStart(HELLO, requests.get(name)!, env));
      if (!(run % 2)) await measure();
    }
    progress(
      NAME,
      `run ${run}/${RUNS}: hello-world median so far ${
        fmt(median(hello.map((s) => s.wall)), "ms")
      }`,
    );
  }
  // Where the time goes: processes that only import one module each, interleaved; each
  // prints its CPU time once its imports have run.
  progress(NAME, "timing the imports on their own");
  const probes: Record<string, string> = {
    "nothing": "",
    "valibot": 'import "valibot";',
    "jose": 'import "jose";',
    "postgres (postgres.js)": 'import "postgres";',
    "node:crypto": 'import "node:crypto";',
    "_shared/config.ts": 'import "../../supabase/functions/_shared/config.ts";',
    "shared/api_schemas.ts": 'import "../../shared/api_schemas.ts";',
    "shared/public_request_schemas.ts": 'import "../../shared/public_request_schemas.ts";',
    "_shared/endpoint.ts": 'import "../../supabase/functions/_shared/endpoint.ts";',
    "_shared/deps.ts": 'import "../../supabase/functions/_shared/deps.ts";',
    "_shared/push_dispatcher.ts": 'import "../../supabase/functions/_shared/push_dispatcher.ts";',
    "bridge-event's endpoint":
      'import "../../supabase/functions/_shared/endpoints/bridge_event.ts";',
  };
  const probeFiles = new Map<string, string>();
  for (const [label, source] of Object.entries(probes)) {
    const file = `.tmp/cold_start/${label.replace(/[^a-z]+/gi, "_")}.ts`;
    await Deno.writeTextFile(
      file,
      `${source}\nimport { cpuMs } from "../../bench/lib/cpu.ts";\n` +
        `console.log(cpuMs(Deno.pid));\n`,
    );
    await new Deno.Command(Deno.execPath(), { args: ["cache", "--quiet", file] }).output();
    probeFiles.set(label, file);
  }
  const probeWall = new Map<string, number[]>([...probeFiles.keys()].map((l) => [l, []]));
  const probeCpu = new Map<string, number[]>([...probeFiles.keys()].map((l) => [l, []]));
  for (let i = 0; i < 9; i++) {
    for (const [label, file] of probeFiles) {
      const t0 = performance.now();
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--cached-only", file],
        stdout: "piped",
        stderr: "null",
      }).output();
      probeWall.get(label)!.push(performance.now() - t0);
      probeCpu.get(label)!.push(Number(new TextDecoder().decode(out.stdout)));
    }
  }
  const importCost = [...probeFiles.keys()].map((label) =>
    `${label} ${fmt(median(probeWall.get(label)!), "ms")} (CPU ${
      fmt(median(probeCpu.get(label)!), "ms")
    })`
  );
  progress(NAME, `process that only imports: ${importCost.join(", ")}`);
  const baseline = median(hello.map((s) => s.wall));
  const baselineCpu = median(hello.map((s) => s.cpu));
  const rows: BenchRow[] = [];
  for (const [name, samples] of byFunction) {
    const measured = median(samples.map((s) => s.wall));
    const ratio = measured / baseline;
    const cpu = median(samples.map((s) => s.cpu));
    const statuses = [...new Set(samples.map((s) => s.status))].join("/");
    const cpuNote = `CPU ${fmt(cpu, "ms")} vs ${fmt(baselineCpu, "ms")} (${
      fmt(cpu / baselineCpu)
    }×); first answer ${statuses}`;
    rows.push({
      what: `cold start of ${name} (fresh process → first response, median of ${RUNS})`,
      target: `≤ ${TARGET} × hello-world`,
      measured: fmt(measured, "ms"),
      baseline: fmt(baseline, "ms"),
      ratio,
      pass: ratio <= TARGET,
      note: ratio <= TARGET
        ? cpuNote
        : `${fmt((ratio / TARGET - 1) * 100)} % over the target; ${cpuNote}; nothing heavy ` +
          "is imported at start (tests/cold_start_imports_test.ts); pair-start and push-decision " +
          "validate their first request with valibot and their schemas, imported at start " +
          "(validate_at_start.ts: ~2–3 ms of CPU)",
    });
    progress(
      NAME,
      `${name}: ${fmt(measured, "ms")} (${fmt(ratio)}× hello-world), ${cpuNote}`,
    );
  }
  const path = await writeResult({
    name: NAME,
    command: "node scripts/with_test_db.mjs deno run -A bench/cold_start.ts",
    rows,
    distributions: [{
      title: "Cold start: every function vs hello-world Deno.serve",
      unit: "ms",
      series: {
        project: [...byFunction.values()].flat().map((s) => s.wall),
        baseline: hello.map((s) => s.wall),
      },
    }],
    notes: [
      `Each sample spawns \`deno run -A --cached-only <entry>\` with PORT set, connects ` +
      `over raw TCP as soon as the port listens (an attempt every ${RETRY_MS} ms), sends ` +
      `the function's own first request (its method and path, a POST with \`{}\`, no ` +
      `credentials) and stops the clock at the first bytes of the answer; the CPU time is ` +
      `the process's (every thread, /proc) at that moment. The hello-world gets the same ` +
      `request and runs from a folder with the functions' deno.json and deno.lock, as ` +
      `each function does. Module and V8 code caches are warm (one unmeasured run first), ` +
      `as after a deploy. ${RUNS} runs per function, each next to a baseline run, the ` +
      `order alternating.`,
      `Where the time goes (a process that only imports the module, median of 9): ` +
      `${importCost.join("; ")}.`,
      `The first request builds the isolate's deps (config, a lazy database pool, the JWT ` +
      `verifier); the answer is the pipeline's own (401 without credentials, 400 for a ` +
      `body the schema refuses), no database round trip. postgres.js, jose, node:crypto ` +
      `and the push dispatcher are imported on first use (db.ts, jose.ts, signing.ts, ` +
      `deps.ts), so they are not in this figure: the first request that needs one pays ` +
      `its import (about 40, 10, 15 and 3 ms) once per isolate.`,
    ],
  });
  progress(NAME, `wrote ${path}`);
} finally {
  await dropDatabase(databaseUrl);
}
