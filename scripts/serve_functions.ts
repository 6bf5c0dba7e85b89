// The local functions server: every function in one Deno process under
// http://127.0.0.1:<PORT>/functions/v1/<name>, with the push sweep and retention timers
// that pg_cron runs on Supabase. SIGINT/SIGTERM answer parked long-polls and stop cleanly.
import { loadConfig } from "../supabase/functions/_shared/config.ts";
import { createDeps } from "../supabase/functions/_shared/deps.ts";
import { createRouter } from "../supabase/functions/_shared/router.ts";
import { endpoints } from "../supabase/functions/_shared/routes.ts";
import { startMaintenance } from "../supabase/functions/_shared/maintenance.ts";

const config = loadConfig();
const deps = createDeps(config);
const router = createRouter(endpoints, deps);
const maintenance = startMaintenance(deps);
const server = Deno.serve({
  hostname: Deno.env.get("HOST") ?? "127.0.0.1",
  port: config.PORT,
  onListen: ({ hostname, port }) => {
    console.log(`functions: http://${hostname}:${port}/functions/v1/<name>`);
    for (const e of endpoints) {
      console.log(`  ${e.method.padEnd(4)} http://${hostname}:${port}/functions/v1/${e.name}`);
    }
  },
}, (req, info) => router(req, info));

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  deps.waiter.shutdown();
  deps.pairing.shutdown();
  deps.reads.shutdown();
  maintenance.stop();
  await server.shutdown();
  await deps.close();
  Deno.exit(0);
}
Deno.addSignalListener("SIGINT", stop);
Deno.addSignalListener("SIGTERM", stop);
