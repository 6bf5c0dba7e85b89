// A function process killed (SIGKILL) mid-request with push outbox rows pending, some of
// them claimed by it mid-delivery (status sending, a lease): after a restart every row
// is delivered (recorded on the row by the log provider), none lost.
import postgres from "postgres";
import { assert, assertEquals } from "../_helpers/assert.ts";
import { dropDatabase, freshDatabase } from "../_helpers/stack.ts";
import { type ServerProcess, startServerProcess } from "../_helpers/server_process.ts";
import { randomDevice, randomWorkspace } from "../_helpers/fixtures.ts";
import { freePort } from "../../bench/lib/ports.ts";

const pushIsStub = Deno.readTextFileSync("supabase/functions/_shared/push_dispatcher.ts")
  .includes("STUB: replaced by the push work");

/** the whole functions server as its own process, on `port` (the same one after a restart) */
const startServer = (databaseUrl: string, port: number) =>
  startServerProcess("scripts/serve_functions.ts", databaseUrl, "no-such-function", { port });

Deno.test({
  name:
    "a function process killed mid-request leaves its pending push outbox rows to be delivered after the restart",
  ignore: pushIsStub,
  async fn() {
    const databaseUrl = await freshDatabase();
    const sql = postgres(databaseUrl, { max: 2, onnotice: () => {} });
    const port = freePort();
    let server: ServerProcess | undefined = await startServer(databaseUrl, port);
    try {
      const ws = await randomWorkspace(sql);
      const { deviceId } = await randomDevice(sql, { workspaceId: ws.workspaceId });
      const runId = crypto.randomUUID();
      await sql`insert into public.runs (id, workspace_id, provider, status, last_message)
                values (${runId}, ${ws.workspaceId}, 'claude-code', 'COMPLETED', 'done')`;
      const message = {
        title: `${ws.displayName} · run completed`,
        body: "done",
        data: { type: "run", run_id: runId, workspace_id: ws.workspaceId, status: "COMPLETED" },
        collapse_id: `run-${runId}`,
      };
      // Rows as the dying process leaves them: three not yet due, two claimed by it
      // mid-delivery (status sending) whose lease runs out shortly. Plain inserts: no
      // NOTIFY, so nothing delivers them before the kill.
      await sql`
        insert into private.push_outbox (device_id, workspace_id, kind, run_id, message, next_attempt_at)
        select ${deviceId}, ${ws.workspaceId}, 'run', ${runId}, ${sql.json(message)},
               now() + interval '2 seconds'
        from generate_series(1, 3)`;
      await sql`
        insert into private.push_outbox (device_id, workspace_id, kind, run_id, message, status,
                                         attempts, locked_until)
        select ${deviceId}, ${ws.workspaceId}, 'run', ${runId}, ${sql.json(message)}, 'sending',
               1, now() + interval '1 second'
        from generate_series(1, 2)`;

      // A request in flight: its body never finishes arriving.
      const stalled = fetch(`http://127.0.0.1:${port}/functions/v1/bridge-event`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: new ReadableStream({
          start(controller) {
            controller.enqueue(new TextEncoder().encode('{"workspace_id":'));
          },
        }),
      }).then((r) => `answered ${r.status}`, () => "no answer");
      await new Promise((r) => setTimeout(r, 200));
      await server.stop();
      server = undefined;
      assertEquals(await stalled, "no answer", "the request in flight died with the process");
      const [{ undelivered }] = await sql`
        select count(*)::int as undelivered from private.push_outbox where status <> 'sent'`;
      assertEquals(undelivered, 5, "nothing was delivered before the kill");

      server = await startServer(databaseUrl, port);
      const until = Date.now() + 45_000;
      let rows: postgres.Row[] = [];
      while (Date.now() < until) {
        rows = await sql`select status, attempts, sent_at, last_outcome from private.push_outbox`;
        if (rows.every((r) => r.status === "sent")) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      assertEquals(rows.map((r) => r.status), ["sent", "sent", "sent", "sent", "sent"]);
      for (const row of rows) {
        assert(row.sent_at !== null && row.last_outcome, "the outcome is recorded on the row");
      }
      const [{ events }] = await sql`select count(*)::int as events from public.events`;
      assertEquals(events, 0, "the killed request wrote nothing");
    } finally {
      if (server) {
        server.child.kill("SIGTERM");
        await server.child.status;
      }
      await sql.end({ timeout: 1 });
      await dropDatabase(databaseUrl);
    }
  },
});
