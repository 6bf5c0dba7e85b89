// docs/openapi.json is generated from the zod schemas (scripts/gen_openapi.ts); these tests
// fail when it is stale or when it and the mounted endpoints disagree.
import { assert, assertEquals } from "./_helpers/assert.ts";
import type { Json } from "./_helpers/stack.ts";
import * as schemas from "../shared/api_schemas.ts";
import { endpoints } from "../supabase/functions/_shared/routes.ts";
import { OPENAPI_PATH, OPERATIONS, renderOpenApi } from "../scripts/gen_openapi.ts";

Deno.test("docs/openapi.json is current (regenerate: deno run -A scripts/gen_openapi.ts)", async () => {
  const current = await Deno.readTextFile(OPENAPI_PATH);
  assert(
    current === renderOpenApi(),
    `${OPENAPI_PATH} is stale: run deno run -A scripts/gen_openapi.ts`,
  );
});

Deno.test("the API reference documents every mounted endpoint with its method and schemas", () => {
  const registry = schemas as unknown as Record<string, unknown>;
  assertEquals(
    OPERATIONS.map((o) => o.name).sort(),
    endpoints.map((e) => e.name).sort(),
  );
  for (const endpoint of endpoints) {
    const op = OPERATIONS.find((o) => o.name === endpoint.name && o.method === endpoint.method)!;
    assertEquals(op.method, endpoint.method, endpoint.name);
    // A stub has no schemas yet; a built endpoint must validate with the documented ones.
    if (endpoint.body) {
      assert(op.request, `${endpoint.name} takes a body the reference does not document`);
      assert(endpoint.body === registry[op.request], `${endpoint.name} body is not ${op.request}`);
    }
    if (endpoint.query) {
      assert(op.query, `${endpoint.name} takes a query the reference does not document`);
      assert(endpoint.query === registry[op.query], `${endpoint.name} query is not ${op.query}`);
    }
    if (endpoint.param) assertEquals(op.param !== undefined, true, endpoint.name);
  }
});

Deno.test("every $ref in docs/openapi.json resolves and every error response uses the error model", async () => {
  const doc = JSON.parse(await Deno.readTextFile(OPENAPI_PATH));
  const refs: string[] = [];
  (function walk(v: unknown) {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) {
        if (k === "$ref" && typeof x === "string") refs.push(x);
        else walk(x);
      }
    }
  })(doc);
  assert(refs.length > 0);
  for (const ref of refs) {
    const target = ref.slice(2).split("/").reduce((o, k) => o?.[k], doc);
    assert(target !== undefined, `unresolved ${ref}`);
  }
  for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, Json>>)) {
    for (const op of Object.values(item)) {
      for (const [status, res] of Object.entries(op.responses as Record<string, Json>)) {
        if (Number(status) >= 400) {
          assertEquals(
            res.content["application/json"].schema.$ref,
            "#/components/schemas/Error",
            `${path} ${status}`,
          );
        }
      }
    }
  }
});
