// Database grants and function hygiene: clients and other logins call nothing of the
// server's, new functions start closed, every function has a fixed search_path, and
// Supabase's own linter has nothing to say.
import { assert, assertEquals } from "./_helpers/assert.ts";
import { startStack } from "./_helpers/stack.ts";

const CLIENT_ROLES = ["anon", "authenticated", "service_role"];

Deno.test("no client role may execute a private function but authenticated user_workspace_ids()", async () => {
  const stack = await startStack();
  try {
    const rows = await stack.sql`
      select p.oid::regprocedure::text as fn, r.rolname as role
      from pg_proc p
      join pg_namespace n on n.oid = p.pronamespace
      cross join pg_roles r
      where n.nspname in ('private', 'public') and r.rolname in ${stack.sql(CLIENT_ROLES)}
        and has_function_privilege(r.oid, p.oid, 'execute')
      order by 1, 2`;
    assertEquals(rows.map((r) => `${r.role}: ${r.fn}`), [
      "authenticated: private.user_workspace_ids()",
    ]);
    // PUBLIC in particular (every login is a member of it)
    const open = await stack.sql`
      select p.oid::regprocedure::text as fn
      from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname in ('private', 'public')
        and (p.proacl is null
             or exists (select 1 from aclexplode(p.proacl) a where a.grantee = 0))`;
    assertEquals(open.map((r) => r.fn), []);
  } finally {
    await stack.close();
  }
});

Deno.test("a function created later is closed unless granted", async () => {
  const stack = await startStack();
  try {
    for (const schema of ["private", "public"]) {
      await stack.sql.unsafe(`create function ${schema}.added_later() returns int
                              language sql set search_path = '' as 'select 1'`);
      const rows = await stack.sql`
        select r.rolname, has_function_privilege(r.rolname, ${`${schema}.added_later()`},
                                                 'execute') as can
        from pg_roles r where r.rolname in ${stack.sql(CLIENT_ROLES)} order by 1`;
      assertEquals(
        rows.filter((r) => r.can).map((r) => r.rolname),
        [],
        `${schema}.added_later()`,
      );
    }
  } finally {
    await stack.close();
  }
});

Deno.test("user_workspace_ids() takes no user id: it answers only for the caller", async () => {
  const stack = await startStack();
  try {
    const rows = await stack.sql`
      select p.oid::regprocedure::text as fn, p.prosecdef
      from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname = 'private' and p.proname = 'user_workspace_ids'`;
    assertEquals(rows.map((r) => r.fn), ["private.user_workspace_ids()"]);
  } finally {
    await stack.close();
  }
});

Deno.test("every function has a fixed search_path", async () => {
  const stack = await startStack();
  try {
    // splinter's 0011_function_search_path_mutable, for our schemas
    const rows = await stack.sql`
      select p.oid::regprocedure::text as fn
      from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname in ('private', 'public')
        and not exists (select 1 from unnest(coalesce(p.proconfig, '{}')) c
                        where c like 'search_path=%')`;
    assertEquals(rows.map((r) => r.fn), []);
  } finally {
    await stack.close();
  }
});

Deno.test("supabase db advisors reports nothing at level warn", async () => {
  const stack = await startStack();
  try {
    const url = new URL(stack.databaseUrl);
    url.searchParams.set("sslmode", "disable");
    const bin = new URL("../node_modules/.bin/supabase", import.meta.url).pathname;
    const out = await new Deno.Command(bin, {
      args: ["db", "advisors", "--db-url", url.toString(), "--level", "warn", "-o", "json"],
      env: { SUPABASE_TELEMETRY_DISABLED: "1", DO_NOT_TRACK: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout).trim();
    const stderr = new TextDecoder().decode(out.stderr);
    assert(out.success, `supabase db advisors failed: ${stderr}`);
    const start = stdout.indexOf("[");
    const issues = start < 0 ? [] : JSON.parse(stdout.slice(start));
    assertEquals(
      issues.map((i: { name: string; detail: string }) => `${i.name}: ${i.detail}`),
      [],
      stderr,
    );
  } finally {
    await stack.close();
  }
});
