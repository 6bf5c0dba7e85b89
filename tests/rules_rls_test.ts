// The rules table under RLS (issue 15), as rls_test.ts checks the others: real role
// switching as PostgREST does it. A user reads only their paired workspaces' rules; anon
// and strangers see nothing; nobody writes from a client; the table is in the Realtime
// publication; the rule functions are the server's alone.
import { assert, assertEquals } from "./_helpers/assert.ts";
import { startStack } from "./_helpers/stack.ts";
import { randomDevice, randomWorkspace } from "./_helpers/fixtures.ts";
import type postgres from "postgres";

async function codeAs(
  sql: postgres.Sql,
  role: "authenticated" | "anon",
  userId: string | null,
  statement: string,
): Promise<{ code: string | null; rows: Record<string, unknown>[] }> {
  const conn = await sql.reserve();
  try {
    const claims = userId ? { sub: userId, role } : { role };
    await conn`select set_config('request.jwt.claims', ${JSON.stringify(claims)}, false)`;
    await conn.unsafe(`set role ${role}`);
    try {
      return { code: null, rows: [...await conn.unsafe(statement)] };
    } catch (error) {
      return { code: (error as { code?: string }).code ?? "unknown", rows: [] };
    }
  } finally {
    await conn.unsafe("reset role; reset request.jwt.claims");
    conn.release();
  }
}

Deno.test("rules: a user reads only their workspaces' rules, anon nothing, and no client writes", async () => {
  const stack = await startStack();
  try {
    const a = await randomWorkspace(stack.sql);
    const b = await randomWorkspace(stack.sql);
    const devA = await randomDevice(stack.sql, { workspaceId: a.workspaceId });
    const devB = await randomDevice(stack.sql, { workspaceId: b.workspaceId });
    for (const [ws, user] of [[a.workspaceId, devA.userId], [b.workspaceId, devB.userId]]) {
      await stack.sql`
        insert into public.rules (workspace_id, effect, match, value, words, created_by_user_id, expires_at)
        values (${ws}, 'allow', 'prefix', 'make', '[["make"]]', ${user}, now() + interval '1 hour')`;
    }
    const seenByA = await codeAs(
      stack.sql,
      "authenticated",
      devA.userId,
      "select * from public.rules",
    );
    assertEquals(seenByA.rows.map((r) => r.workspace_id), [a.workspaceId]);
    const stranger = await codeAs(
      stack.sql,
      "authenticated",
      crypto.randomUUID(),
      "select * from public.rules",
    );
    assertEquals(stranger.rows, []);
    const anon = await codeAs(stack.sql, "anon", null, "select * from public.rules");
    assertEquals(anon.code, "42501");
    const writes = [
      `insert into public.rules (workspace_id, effect, match, value, words, created_by_user_id, expires_at)
       values ('${a.workspaceId}', 'allow', 'prefix', 'rm', '[["rm"]]', '${devA.userId}', now() + interval '1 day')`,
      `update public.rules set expires_at = now() + interval '1 year'`,
      `update public.rules set revoked_at = null`,
      `delete from public.rules`,
      `select private.create_rule('${devA.userId}', '{}')`,
      `select private.revoke_rule('${devA.userId}', gen_random_uuid())`,
      `select private.bridge_rules('${a.workspaceId}', 1, 'nonce-nonce', null)`,
      `select private.decide_approval_and_remember('${devA.userId}', gen_random_uuid(), 'APPROVE', null, null, '{}')`,
    ];
    for (const role of ["authenticated", "anon"] as const) {
      for (const statement of writes) {
        const { code } = await codeAs(stack.sql, role, devA.userId, statement);
        assertEquals(code, "42501", `${role}: ${statement.slice(0, 70)}`);
      }
    }
    const [{ n }] = await stack.sql`select count(*)::int as n from public.rules`;
    assertEquals(n, 2);
  } finally {
    await stack.close();
  }
});

Deno.test("rules reach the phone by broadcast on workspace:<id>, never by Postgres Changes", async () => {
  const stack = await startStack();
  try {
    const published = await stack.sql`select tablename from pg_publication_tables
                                      where pubname = 'supabase_realtime'`;
    assert(!published.some((r) => r.tablename === "rules"));
    const broadcast = await stack.sql`select table_name from private.realtime_broadcast_tables()`;
    assert(broadcast.some((r) => r.table_name === "rules"));
  } finally {
    await stack.close();
  }
});
