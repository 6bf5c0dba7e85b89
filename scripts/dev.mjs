// `npm run dev`: the local stack on the embedded default. A real PostgreSQL on
// 127.0.0.1:54322 (or DATABASE_URL), the Supabase stand-in bootstrap, the migrations with
// the Supabase CLI, and every function served by one Deno process on :54321.
import { spawn } from "node:child_process";
import path from "node:path";
import { applyBootstrap, applyMigrations, repoRoot, startDevPostgres } from "./local_postgres.mjs";

const DEV_DEFAULTS = {
  HMAC_SECRET: "agentops-local-dev-hmac-secret-do-not-use-in-production",
  SUPABASE_JWT_SECRET: "super-secret-jwt-token-with-at-least-32-characters-long",
};

const env = { ...process.env };
for (const [name, value] of Object.entries(DEV_DEFAULTS)) {
  if (!env[name]) {
    env[name] = value;
    console.warn(
      `warning: ${name} is not set; using the local development default (never use it in production)`,
    );
  }
}
env.PORT ??= "54321";
env.SUPABASE_URL ??= `http://127.0.0.1:${env.PORT}`;

let postgres;
if (!env.DATABASE_URL) {
  const port = Number(env.DB_PORT ?? 54322);
  console.log(
    `database: starting embedded PostgreSQL on 127.0.0.1:${port} (data in .data/postgres)`,
  );
  postgres = await startDevPostgres({ port, dataDir: path.join(repoRoot, ".data/postgres") });
  env.DATABASE_URL = postgres.url;
} else {
  console.log("database: using DATABASE_URL");
}
env.SUPABASE_DB_URL ??= env.DATABASE_URL;

try {
  await applyBootstrap(env.DATABASE_URL);
  await applyMigrations(env.DATABASE_URL);
  console.log("database: bootstrap and migrations applied");
} catch (error) {
  console.error(String(error));
  await postgres?.stop();
  process.exit(1);
}

const deno = path.join(repoRoot, "node_modules/.bin/deno");
const child = spawn(deno, ["run", "-A", "scripts/serve_functions.ts"], {
  cwd: repoRoot,
  env,
  stdio: "inherit",
});

let stopping = false;
async function stop(signal) {
  if (stopping) return;
  stopping = true;
  console.log(`\nstopping (${signal})…`);
  child.kill("SIGTERM");
  await new Promise((resolve) => {
    if (child.exitCode !== null) resolve();
    else child.once("exit", resolve);
    setTimeout(resolve, 5000);
  });
  await postgres?.stop();
  process.exit(0);
}
process.on("SIGINT", () => stop("SIGINT"));
process.on("SIGTERM", () => stop("SIGTERM"));
child.on("exit", async (code) => {
  if (stopping) return;
  await postgres?.stop();
  process.exit(code ?? 1);
});
