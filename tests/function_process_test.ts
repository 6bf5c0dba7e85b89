// Functions run as their own process, as deployed, where only their own module graph is
// loaded (the in-process tests load every endpoint, so a module one function forgot to import
// is there anyway). pair-start and push-decision validate their first request with the schemas
// they import at start (validate_at_start.ts); pair-status imports the waiters before its first
// park (loadWaiters). tests/cold_start_imports_test.ts checks the graphs.
import { assert, assertEquals } from "./_helpers/assert.ts";
import { dropDatabase, freshDatabase } from "./_helpers/stack.ts";
import { startServerProcess } from "./_helpers/server_process.ts";
import { eventually } from "./_helpers/approvals.ts";
import { credentialsOf, pairStatus, startPairing } from "./_helpers/pairing.ts";
import type { Stack } from "./_helpers/stack.ts";
import postgres from "postgres";

/** Runs one function's index.ts as its own process and calls `body` with its URL. */
async function withFunction(
  name: string,
  databaseUrl: string,
  body: (url: string, stack: Stack) => Promise<void>,
): Promise<void> {
  const server = await startServerProcess(
    `supabase/functions/${name}/index.ts`,
    databaseUrl,
    name,
    { readyMethod: "OPTIONS" },
  );
  try {
    await body(`${server.functionsUrl}/${name}`, { functionsUrl: server.functionsUrl } as Stack);
  } finally {
    await server.stop();
  }
}

function post(url: string, body: unknown): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

Deno.test("pair-start as its own process: 400 invalid_request naming the fields, then 201", async () => {
  const databaseUrl = await freshDatabase();
  try {
    await withFunction("pair-start", databaseUrl, async (url) => {
      const bad = await post(url, { machine_id: "m", extra: 1 });
      assertEquals(bad.status, 400);
      const { error } = await bad.json();
      assertEquals(error.code, "invalid_request");
      assertEquals(
        (error.details as { path: string; code: string }[]).map((d) => [d.path, d.code]).sort(),
        [
          ["display_name", "invalid_type"],
          ["extra", "unrecognized_keys"],
          ["workspace_fingerprint", "invalid_type"],
        ],
      );
      const good = await post(url, {
        machine_id: "machine-1",
        workspace_fingerprint: "fp-1",
        display_name: "  laptop  ",
      });
      assertEquals(good.status, 201);
      const paired = await good.json();
      assertEquals(typeof paired.pair_token, "string");
      assert(paired.pairing_uri.length > 0);
    });
  } finally {
    await dropDatabase(databaseUrl);
  }
});

Deno.test("push-decision as its own process: 400 invalid_request naming the fields, then 404 for an unknown token", async () => {
  const databaseUrl = await freshDatabase();
  try {
    await withFunction("push-decision", databaseUrl, async (url) => {
      const bad = await post(url, { decision_token: "short", decision: "MAYBE" });
      assertEquals(bad.status, 400);
      const { error } = await bad.json();
      assertEquals(error.code, "invalid_request");
      assertEquals(
        (error.details as { path: string; code: string }[]).map((d) => [d.path, d.code]).sort(),
        [["decision", "invalid_value"], ["decision_token", "too_small"]],
      );
      const unknown = await post(url, { decision_token: "x".repeat(32), decision: "DENY" });
      assertEquals(unknown.status, 404);
      assertEquals((await unknown.json()).error.code, "not_found");
    });
  } finally {
    await dropDatabase(databaseUrl);
  }
});

Deno.test("pair-status as its own process parks a wait in its waiter (LISTEN up), then answers 200, not paired", async () => {
  const databaseUrl = await freshDatabase();
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    await withFunction("pair-start", databaseUrl, async (_url, pairStack) => {
      const started = await startPairing(pairStack);
      await withFunction("pair-status", databaseUrl, async (_url, statusStack) => {
        const waiting = pairStatus(statusStack, credentialsOf(started), 3);
        // parked: the waiter's LISTEN connection opens on the first park
        await eventually(async () => {
          const [row] = await sql`
            select count(*)::int as n from pg_stat_activity
            where application_name = 'agentops-waiter' and datname = current_database()`;
          return row.n === 1;
        }, "pair-status to park and LISTEN");
        const res = await waiting;
        assertEquals([res.status, res.body.paired], [200, false]);
      });
    });
  } finally {
    await sql.end({ timeout: 1 });
    await dropDatabase(databaseUrl);
  }
});
