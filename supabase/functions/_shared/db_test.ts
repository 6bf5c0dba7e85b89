import { assertEquals } from "../../../tests/_helpers/assert.ts";
import { callJson, createSql, guardConnectionRejections, toHttpError } from "./db.ts";
import { HttpError } from "./http_error.ts";
import { dropDatabase, freshDatabase, startStack } from "../../../tests/_helpers/stack.ts";

const NASTY = [
  "plain",
  "it's",
  "'); drop table public.events; --",
  "$$ dollar $$",
  "$ao$ tag-like $ao0123$",
  "back\\slash \\' and \\\\",
  "unicode ✓ 😀 \u2028",
  "",
];

Deno.test("callJson() passes every argument through exactly, quotes and dollars included", async () => {
  const stack = await startStack();
  try {
    for (const text of NASTY) {
      const object = { text, nested: { list: [text, 1, null, true] } };
      const id = crypto.randomUUID();
      const result = await callJson<unknown[]>(
        stack.deps.sql,
        "jsonb_build_array($1::text, $2::jsonb, $3::integer, $4::boolean, $5::uuid, $6::text)",
        [text, object, -42, false, id, null],
      );
      assertEquals(result, [text, object, -42, false, id, null], JSON.stringify(text));
    }
    // arrays too
    const fallback = await callJson<unknown[]>(stack.deps.sql, "jsonb_build_array($1::text[])", [
      ["a'b", "$$"],
    ]);
    assertEquals(fallback, [["a'b", "$$"]]);
  } finally {
    await stack.close();
  }
});

Deno.test("guardConnectionRejections() keeps a stray connection reset from ending the process", async () => {
  const seen: unknown[] = [];
  guardConnectionRejections((error) => seen.push(error));
  // what postgres.js under Deno can leave behind when the server resets its socket
  Promise.reject(Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" }));
  await new Promise((resolve) => setTimeout(resolve, 50));
  assertEquals(seen.length, 1);
});

Deno.test("a real deadlock answers 503 unavailable with Retry-After, not 500", async () => {
  const stack = await startStack();
  const a = await stack.sql.reserve();
  const b = await stack.sql.reserve();
  try {
    await stack.sql`create table deadlock_probe (id int primary key, v int)`;
    await stack.sql`insert into deadlock_probe values (1, 0), (2, 0)`;
    await a`begin`;
    await b`begin`;
    await a`update deadlock_probe set v = 1 where id = 1`;
    await b`update deadlock_probe set v = 1 where id = 2`;
    // each now waits for the other's row: Postgres picks one victim (deadlock_timeout, 1 s)
    const results = await Promise.allSettled([
      a`update deadlock_probe set v = 2 where id = 2`,
      b`update deadlock_probe set v = 2 where id = 1`,
    ]);
    const failed = results.filter((r) => r.status === "rejected") as PromiseRejectedResult[];
    assertEquals(failed.length, 1);
    assertEquals((failed[0].reason as { code?: string }).code, "40P01");
    const mapped = toHttpError(failed[0].reason);
    if (!(mapped instanceof HttpError)) throw new Error(`not mapped: ${mapped}`);
    assertEquals(mapped.code, "unavailable");
    assertEquals(mapped.status, 503);
    assertEquals(mapped.headers["retry-after"], "1");
  } finally {
    await a`rollback`.catch(() => {});
    await b`rollback`.catch(() => {});
    a.release();
    b.release();
    await stack.close();
  }
});

Deno.test("createSql() opens no connection before the first query, then is postgres.js itself", async () => {
  const url = await freshDatabase();
  const sql = createSql(url, { max: 1 });
  try {
    // a helper needs the module: refused, saying why, before any query
    let refused = "";
    try {
      sql.json({ a: 1 });
    } catch (error) {
      refused = String(error);
    }
    assertEquals(refused.includes("before the first query"), true, refused);
    const [{ n }] = await sql`select count(*)::int as n from pg_stat_activity
                              where application_name = 'agentops-functions'`;
    assertEquals(n, 1, "the pool connected on the first query, not before");
    const [row] = await sql.unsafe("select $1::jsonb as j", [sql.json({ a: 1 })]);
    assertEquals(row.j, { a: 1 });
  } finally {
    await sql.end({ timeout: 1 });
    await dropDatabase(url);
  }
});
