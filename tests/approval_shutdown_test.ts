// SIGTERM on the local functions server answers every parked long-poll PENDING before the
// process exits (docs/contract/waiting.md#shutdown), so hook runners ask again instead of seeing a
// reset.
import { assertEquals } from "./_helpers/assert.ts";
import { dropDatabase, freshDatabase } from "./_helpers/stack.ts";
import { startServerProcess } from "./_helpers/server_process.ts";
import postgres from "postgres";
import {
  eventually,
  pairedWorkspace,
  requestApproval,
  waitApproval,
} from "./_helpers/approvals.ts";

Deno.test("SIGTERM answers the parked long-polls PENDING, then the server exits", async () => {
  const databaseUrl = await freshDatabase();
  const sql = postgres(databaseUrl, { max: 2, onnotice: () => {} });
  const { child: server, functionsUrl, stop } = await startServerProcess(
    "scripts/serve_functions.ts",
    databaseUrl,
    "bridge-approval-wait",
  );
  try {
    const stack = { functionsUrl };
    const ws = await pairedWorkspace(sql);
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) ids.push((await requestApproval(stack, ws)).body.approval_id);
    const waits = ids.map((id) => waitApproval(stack, ws, id, 120));
    // Both first reads done (their nonces are stored) and LISTEN up (it opens on the first
    // park): the waits are parked.
    await eventually(async () => {
      const [row] = await sql`
        select (select count(*) from private.bridge_nonces)::int as nonces,
               (select count(*) from pg_stat_activity
                where application_name = 'agentops-waiter'
                  and datname = current_database())::int as listeners`;
      return row.nonces === 4 && row.listeners === 1;
    }, "the waits to park");
    await new Promise((r) => setTimeout(r, 100));
    server.kill("SIGTERM");
    const answers = await Promise.all(waits);
    assertEquals(answers.map((a) => [a.status, a.body.status]), [
      [200, "PENDING"],
      [200, "PENDING"],
    ]);
    assertEquals((await server.status).code, 0);
  } finally {
    await stop();
    await sql.end({ timeout: 1 });
    await dropDatabase(databaseUrl);
  }
});
