import { assertEquals } from "../../../tests/_helpers/assert.ts";
import { callJson, inlineArguments } from "./db.ts";
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
    // what cannot be inlined still works, as bound parameters
    const fallback = await callJson<unknown[]>(stack.deps.sql, "jsonb_build_array($1::text[])", [
      ["a'b", "$$"],
    ]);
    assertEquals(fallback, [["a'b", "$$"]]);
  } finally {
    await stack.close();
  }
});

Deno.test("inlineArguments() falls back for values it cannot quote", () => {
  assertEquals(inlineArguments("f($1::text)", ["a\u0000b"]), null);
  assertEquals(inlineArguments("f($1::uuid[])", [["a"]]), null);
  assertEquals(inlineArguments("f($1::timestamptz)", [new Date()]), null);
  assertEquals(inlineArguments("f($1::integer)", [NaN]), null);
  assertEquals(inlineArguments("f($1::text, $2::text)", ["only one"]), null);
  const inlined = inlineArguments("f($1::text, $2::integer)", ["x", 7]);
  assertEquals(inlined?.replace(/\$ao[0-9a-f]+\$/g, "$T$"), "f($T$x$T$::text, $T$7$T$::integer)");
});
