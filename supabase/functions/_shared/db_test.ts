import { assertEquals } from "../../../tests/_helpers/assert.ts";
import { callJson, guardConnectionRejections } from "./db.ts";
import { startStack } from "../../../tests/_helpers/stack.ts";

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
