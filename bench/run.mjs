// `npm run bench`: runs every benchmark under bench/ (bench/<name>.ts) against one
// throwaway migrated PostgreSQL, shows progress, and writes BENCHMARKS.md with the plots
// (bench/lib/report.ts). A bench that is missing, fails or times out is reported as
// "not run" with the reason, so the run always finishes.
//   npm run bench                 every bench
//   npm run bench -- timeline     only the named ones
//   EVENTS=1000000 npm run bench  a quicker timeline bench
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { repoRoot, startTestCluster } from "../scripts/local_postgres.mjs";

const BENCH_DIR = path.join(repoRoot, ".tmp/bench");
const deno = path.join(repoRoot, "node_modules/.bin/deno");
// docs/contract/targets.md#benchmarks, in the order of its table; any other bench/<name>.ts runs
// after them.
const KNOWN = ["approval", "ingest", "cold_start", "timeline", "push", "hook_latency"];
const timeoutSeconds = Number(process.env.BENCH_TIMEOUT_SECONDS ?? 900);

// A bench writes .tmp/bench/<name>.json; other top-level files (a bench's worker script,
// say) are not run on their own.
const onDisk = readdirSync(path.join(repoRoot, "bench"))
  .filter((f) => f.endsWith(".ts") && !f.endsWith("_test.ts"))
  .filter((f) =>
    /\.tmp\/bench|writeResult\(/.test(readFileSync(path.join(repoRoot, "bench", f), "utf8"))
  )
  .map((f) => f.slice(0, -3));
const wanted = process.argv.slice(2);
const names = wanted.length ? wanted : [...KNOWN, ...onDisk.filter((n) => !KNOWN.includes(n))];

const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)} s`;
const say = (msg) => process.stderr.write(`\n=== ${msg} [${elapsed()}]\n`);

function machine(pgVersion) {
  let cpu = os.cpus()[0]?.model ?? "unknown";
  let osName = `${os.type()} ${os.release()}`;
  try {
    const release = readFileSync("/etc/os-release", "utf8");
    const pretty = /^PRETTY_NAME="?([^"\n]+)"?/m.exec(release);
    if (pretty) osName = `${pretty[1]} (${os.type()} ${os.release()}, ${os.arch()})`;
  } catch { /* not Linux */ }
  let denoVersion = "unknown";
  try {
    denoVersion = execFileSync(deno, ["--version"], { encoding: "utf8" }).split("\n")[0];
  } catch { /* no deno */ }
  cpu = cpu.replace(/\s+/g, " ").trim();
  let code = process.env.BENCH_CODE_NOTE ?? "";
  if (!code) {
    try {
      const git = (args) => execFileSync("git", args, { cwd: repoRoot, encoding: "utf8" }).trim();
      code =
        `${git(["rev-parse", "--abbrev-ref", "HEAD"])} @ ${git(["rev-parse", "--short", "HEAD"])}` +
        (git(["status", "--porcelain", "--untracked-files=no"])
          ? " (with uncommitted changes)"
          : "");
    } catch {
      code = "not a git checkout";
    }
  }
  return {
    cpu,
    cores: os.cpus().length,
    ramGiB: Math.round(os.totalmem() / 2 ** 30),
    os: osName,
    deno: denoVersion,
    postgres: pgVersion,
    node: process.version,
    date: new Date().toISOString(),
    code,
  };
}

function runBench(name, env) {
  return new Promise((resolve) => {
    const child = spawn(deno, ["run", "-A", `bench/${name}.ts`], {
      cwd: repoRoot,
      env,
      stdio: ["ignore", "inherit", "inherit"],
      detached: true,
    });
    const timer = setTimeout(() => {
      process.stderr.write(`[run] ${name}: timed out after ${timeoutSeconds} s, stopping it\n`);
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch { /* gone */ }
    }, timeoutSeconds * 1000);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
}

mkdirSync(BENCH_DIR, { recursive: true });
say(`starting a throwaway PostgreSQL for ${names.length} benchmark(s): ${names.join(", ")}`);
const cluster = await startTestCluster();
const runs = [];
try {
  const client = new pg.Client({ connectionString: cluster.url });
  await client.connect();
  const { rows } = await client.query("select version() as v");
  await client.end();
  writeFileSync(
    path.join(BENCH_DIR, "machine.json"),
    JSON.stringify(machine(rows[0].v.split(" on ")[0]), null, 2),
  );
  const env = {
    ...process.env,
    ...cluster.env,
    PATH: `${repoRoot}/node_modules/.bin:${process.env.PATH}`,
  };
  for (const [i, name] of names.entries()) {
    const file = path.join(repoRoot, "bench", `${name}.ts`);
    const resultFile = path.join(BENCH_DIR, `${name}.json`);
    rmSync(resultFile, { force: true });
    if (!existsSync(file)) {
      say(`[${i + 1}/${names.length}] ${name}: bench/${name}.ts does not exist yet, skipped`);
      runs.push({ name, status: "missing", reason: `bench/${name}.ts does not exist yet` });
      continue;
    }
    say(`[${i + 1}/${names.length}] ${name}: deno run -A bench/${name}.ts`);
    const t0 = Date.now();
    const { code, signal } = await runBench(name, env);
    const seconds = (Date.now() - t0) / 1000;
    if (code === 0 && existsSync(resultFile)) {
      runs.push({ name, status: "ok", seconds });
      say(`[${i + 1}/${names.length}] ${name}: done in ${seconds.toFixed(0)} s`);
    } else {
      const reason = signal
        ? `stopped by ${signal} after ${seconds.toFixed(0)} s`
        : code === 0
        ? `exited 0 without writing .tmp/bench/${name}.json`
        : `exited with code ${code} after ${seconds.toFixed(0)} s (see its output above)`;
      runs.push({ name, status: "failed", reason, seconds });
      say(`[${i + 1}/${names.length}] ${name}: FAILED, ${reason}`);
    }
  }
} finally {
  await cluster.stop();
}
writeFileSync(path.join(BENCH_DIR, "runs.json"), JSON.stringify(runs, null, 2));
say("writing BENCHMARKS.md");
const code = await new Promise((resolve) => {
  const child = spawn(deno, ["run", "-A", "bench/lib/report.ts"], {
    cwd: repoRoot,
    stdio: "inherit",
  });
  child.on("exit", (c) => resolve(c ?? 1));
});
const summary = runs.map((r) => `${r.name}: ${r.status}`).join(", ");
say(`finished: ${summary}`);
process.exit(code);
