// A PostgreSQL of its own for the fault tests, which stop and restart it under running
// functions (the shared test cluster must stay up for the other tests):
//   node tests/faults/pg_server.mjs <port> <dataDir> [max_connections]
// prints "ready <url>" once the database "agentops" is migrated (on first start) and
// stops the server cleanly on SIGTERM/SIGINT.
import { existsSync } from "node:fs";
import path from "node:path";
import {
  applyBootstrap,
  applyMigrations,
  ensureDatabase,
  startEmbeddedPostgres,
} from "../../scripts/local_postgres.mjs";

const [port, dataDir, maxConnections] = process.argv.slice(2);
const fresh = !existsSync(path.join(dataDir, "PG_VERSION"));
// throwaway data: the fast (non-durable) settings, as the shared test cluster
const pg = await startEmbeddedPostgres({
  port: Number(port),
  dataDir,
  persistent: true,
  durable: false,
  // a small plan's budget (tests/platform/connection_budget_burst_test.ts): every slot for us
  settings: maxConnections
    ? { max_connections: maxConnections, superuser_reserved_connections: 0 }
    : {},
});
let url;
if (fresh) {
  url = await ensureDatabase(pg.url, "agentops");
  await applyBootstrap(url);
  await applyMigrations(url);
} else {
  url = pg.url.replace(/\/postgres$/, "/agentops");
}
process.stdout.write(`ready ${url}\n`);
let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await pg.stop();
  process.exit(0);
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
