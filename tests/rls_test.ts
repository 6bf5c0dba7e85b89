// What the phone reads through Supabase (docs/contract/security.md#rls,
// docs/contract/targets.md#isolation): RLS with real role switching, as PostgREST does it (`set
// role` plus request.jwt.claims). A user's devices see exactly their paired workspaces' rows; anon
// sees nothing; no client writes.
import { assertEquals } from "./_helpers/assert.ts";
import { type Stack, startStack } from "./_helpers/stack.ts";
import { randomDevice, randomWorkspace, type TestWorkspace } from "./_helpers/fixtures.ts";
import { eventBody, postEvent } from "./_helpers/events.ts";
import type postgres from "postgres";

const TABLES = ["runs", "events", "approvals", "workspaces", "workspace_devices", "devices"];

/** Runs fn in a transaction as `role`, with the claims PostgREST would set. */
async function asRole<T>(
  sql: postgres.Sql,
  role: "authenticated" | "anon",
  userId: string | null,
  fn: (tx: postgres.TransactionSql) => Promise<T>,
): Promise<T> {
  return await sql.begin(async (tx) => {
    const claims = userId ? { sub: userId, role } : { role };
    await tx`select set_config('request.jwt.claims', ${JSON.stringify(claims)}, true)`;
    await tx.unsafe(`set local role ${role}`);
    return await fn(tx);
  }) as T;
}

/** The error code a statement run as `role` fails with (null when it succeeds). */
async function errorCodeAs(
  sql: postgres.Sql,
  role: "authenticated" | "anon",
  userId: string | null,
  statement: string,
): Promise<string | null> {
  const conn = await sql.reserve();
  try {
    const claims = userId ? { sub: userId, role } : { role };
    await conn`select set_config('request.jwt.claims', ${JSON.stringify(claims)}, false)`;
    await conn.unsafe(`set role ${role}`);
    try {
      await conn.unsafe(statement);
      return null;
    } catch (error) {
      return (error as { code?: string }).code ?? "unknown";
    }
  } finally {
    await conn.unsafe("reset role; reset request.jwt.claims");
    conn.release();
  }
}

/** What a user sees: the workspace ids of the rows of each table. */
async function visible(sql: postgres.Sql, userId: string) {
  return await asRole(sql, "authenticated", userId, async (tx) => {
    const out: Record<string, string[]> = {};
    for (const table of ["runs", "events", "approvals", "workspace_devices"]) {
      const rows = await tx.unsafe(`select distinct workspace_id from public.${table}`);
      out[table] = rows.map((r) => r.workspace_id).sort();
    }
    // `select *`, as supabase-js's .from("workspaces").select() does
    out.workspaces = (await tx`select * from public.workspaces`).map((r) => r.id).sort();
    out.devices = (await tx`select user_id from public.devices`).map((r) => r.user_id);
    return out;
  });
}

async function seedWorkspace(stack: Stack, ws: TestWorkspace) {
  const runIds = [];
  for (let i = 0; i < 3; i++) {
    const res = await postEvent(stack, ws, eventBody(ws.workspaceId));
    assertEquals(res.status, 202);
    runIds.push(res.body.run_id);
  }
  await stack.sql`insert into public.approvals (run_id, workspace_id, command, expires_at)
                  values (${
    runIds[0]
  }, ${ws.workspaceId}, 'rm -rf build', now() + interval '10 minutes')`;
}

async function withTwoTenants(
  fn: (
    stack: Stack,
    t: {
      a: TestWorkspace;
      b: TestWorkspace;
      userA: string;
      userB: string;
      deviceA: string;
    },
  ) => Promise<void>,
) {
  const stack = await startStack();
  try {
    const a = await randomWorkspace(stack.sql);
    const b = await randomWorkspace(stack.sql);
    await seedWorkspace(stack, a);
    await seedWorkspace(stack, b);
    const devA = await randomDevice(stack.sql, { workspaceId: a.workspaceId });
    await randomDevice(stack.sql, { userId: devA.userId }); // a second, unpaired device
    const devB = await randomDevice(stack.sql, { workspaceId: b.workspaceId });
    await fn(stack, {
      a,
      b,
      userA: devA.userId,
      userB: devB.userId,
      deviceA: devA.deviceId,
    });
  } finally {
    await stack.close();
  }
}

Deno.test("a user's devices see exactly their paired workspaces' rows", async () => {
  await withTwoTenants(async (stack, { a, b, userA, userB }) => {
    const seenByA = await visible(stack.sql, userA);
    for (const table of ["runs", "events", "approvals", "workspace_devices", "workspaces"]) {
      assertEquals(seenByA[table], [a.workspaceId], `user A, ${table}`);
    }
    assertEquals(seenByA.devices, [userA, userA], "user A sees both own devices");
    const seenByB = await visible(stack.sql, userB);
    for (const table of ["runs", "events", "approvals", "workspace_devices", "workspaces"]) {
      assertEquals(seenByB[table], [b.workspaceId], `user B, ${table}`);
    }
    const [{ count }] = await asRole(
      stack.sql,
      "authenticated",
      userA,
      (tx) => tx`select count(*)::int from public.runs`,
    );
    assertEquals(count, 3, "all three of A's runs");
  });
});

Deno.test("another user, a user with no claims and anon see nothing", async () => {
  await withTwoTenants(async (stack) => {
    const stranger = await visible(stack.sql, crypto.randomUUID());
    for (const table of TABLES) assertEquals(stranger[table], [], `stranger, ${table}`);
    await asRole(stack.sql, "authenticated", null, async (tx) => {
      for (const table of TABLES) {
        const rows = await tx.unsafe(`select * from public.${table}`);
        assertEquals(rows.length, 0, `no claims, ${table}`);
      }
    });
    for (const table of TABLES) {
      const code = await errorCodeAs(stack.sql, "anon", null, `select * from public.${table}`);
      assertEquals(code, "42501", `anon may not read ${table}`);
    }
  });
});

Deno.test("select * on workspaces returns the user's workspaces and none of what identifies a machine", async () => {
  await withTwoTenants(async (stack, { a, userA }) => {
    const rows = await asRole(
      stack.sql,
      "authenticated",
      userA,
      (tx) => tx`select * from public.workspaces`,
    );
    assertEquals(rows.map((r) => r.id), [a.workspaceId]);
    assertEquals(
      Object.keys(rows[0]).sort(),
      ["created_at", "display_name", "id", "last_hash", "last_seq", "updated_at"],
    );
    // the identifiers live in private.workspace_keys: no client may read (or write) them
    for (const role of ["authenticated", "anon"] as const) {
      for (
        const statement of [
          "select * from private.workspace_keys",
          "select machine_id, project_fingerprint, secret_version from private.workspace_keys",
        ]
      ) {
        const code = await errorCodeAs(stack.sql, role, role === "anon" ? null : userA, statement);
        assertEquals(code, "42501", `${role}: ${statement}`);
      }
    }
  });
});

Deno.test("after unpairing, a user sees nothing of that workspace", async () => {
  await withTwoTenants(async (stack, { a, userA, deviceA }) => {
    assertEquals((await visible(stack.sql, userA)).runs, [a.workspaceId]);
    await stack.sql`delete from public.workspace_devices
                    where workspace_id = ${a.workspaceId} and device_id = ${deviceA}`;
    const seen = await visible(stack.sql, userA);
    for (const table of ["runs", "events", "approvals", "workspace_devices", "workspaces"]) {
      assertEquals(seen[table], [], `after unpairing, ${table}`);
    }
    assertEquals(seen.devices.length, 2, "the user's devices are still theirs");
  });
});

Deno.test("nothing can be written from a client, even to its own rows", async () => {
  await withTwoTenants(async (stack, { a, userA }) => {
    const [run] = await stack.sql`select id from public.runs where workspace_id = ${a.workspaceId}
                                  limit 1`;
    const writes = [
      `insert into public.runs (id, workspace_id, provider) values (gen_random_uuid(), '${a.workspaceId}', 'x')`,
      `update public.runs set status = 'COMPLETED' where id = '${run.id}'`,
      `delete from public.runs where id = '${run.id}'`,
      `insert into public.events (id, run_id, workspace_id, seq, type, event_ts, hash)
       values (gen_random_uuid(), '${run.id}', '${a.workspaceId}', 99, 'X', now(), 'h')`,
      `update public.events set payload = '{}' where run_id = '${run.id}'`,
      `delete from public.events where run_id = '${run.id}'`,
      `update public.approvals set status = 'APPROVED' where workspace_id = '${a.workspaceId}'`,
      `insert into public.workspace_devices (workspace_id, device_id)
       select '${a.workspaceId}', id from public.devices limit 1`,
      `update public.workspaces set display_name = 'stolen'`,
      `update private.workspace_keys set secret_version = 1`,
      `update public.devices set push_token = 'stolen'`,
      `select private.append_event('${a.workspaceId}', '${run.id}', 'X', '{}')`,
      `select private.ingest_event('${a.workspaceId}', 1, 'nonce-nonce', '{}', 100, 100)`,
      `select private.purge_expired(1)`,
    ];
    for (const role of ["authenticated", "anon"] as const) {
      for (const statement of writes) {
        const code = await errorCodeAs(stack.sql, role, userA, statement);
        assertEquals(code, "42501", `${role}: ${statement.slice(0, 60)}`);
      }
    }
    const [{ count }] = await stack.sql`select count(*)::int from public.events`;
    assertEquals(count, 6, "the events are untouched");
  });
});

// The publication: tests/platform/realtime_broadcast_test.ts (the project's tables left it,
// since Postgres Changes sends deletes to every subscriber without RLS).

Deno.test("the workspace broadcast trigger sends each change on workspace:<id> (stub realtime)", async () => {
  // Hosted Supabase has realtime.broadcast_changes; here a stub with its signature records
  // the calls, and the triggers are created as the platform migration does where it exists.
  const stack = await startStack();
  try {
    const sql = stack.sql;
    await sql.unsafe(`
      create schema realtime;
      create table realtime.captured (topic text, event text, operation text, table_name text,
                                      table_schema text, new jsonb, old jsonb);
      create function realtime.broadcast_changes(
        topic_name text, event_name text, operation text, table_name text, table_schema text,
        new record, old record, level text default 'ROW'
      ) returns void language plpgsql as $$
      begin
        insert into realtime.captured
        values (topic_name, event_name, operation, table_name, table_schema,
                to_jsonb(new), to_jsonb(old));
      end $$;
      create trigger runs_broadcast after insert or update or delete on public.runs
        for each row execute function private.broadcast_workspace_change();
      create trigger events_broadcast after insert or update or delete on public.events
        for each row execute function private.broadcast_workspace_change();`);
    const ws = await randomWorkspace(stack.sql);
    const res = await postEvent(stack, ws, eventBody(ws.workspaceId));
    assertEquals(res.status, 202);
    const rows = await sql`select * from realtime.captured order by table_name, operation`;
    assertEquals(
      rows.map((r) => `${r.table_name} ${r.operation} ${r.topic}`),
      [
        `events INSERT workspace:${ws.workspaceId}`,
        `runs INSERT workspace:${ws.workspaceId}`,
        `runs UPDATE workspace:${ws.workspaceId}`,
      ],
    );
    assertEquals(rows[0].new.id, res.body.event_id);
    await sql`delete from public.runs where id = ${res.body.run_id}`;
    const [deleted] = await sql`select * from realtime.captured
                                where table_name = 'runs' and operation = 'DELETE'`;
    assertEquals(deleted.topic, `workspace:${ws.workspaceId}`, "a delete uses the old row");
  } finally {
    await stack.close();
  }
});
