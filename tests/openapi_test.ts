// docs/openapi.json is generated from the endpoints and their valibot schemas
// (scripts/gen_openapi.ts); these tests fail when it is stale or when it and the mounted
// endpoints disagree.
import { assert, assertEquals } from "./_helpers/assert.ts";
import type { Json } from "./_helpers/stack.ts";
import { endpoints } from "../supabase/functions/_shared/routes.ts";
import { OPENAPI_PATH, renderOpenApi, schemaNames } from "../scripts/gen_openapi.ts";

Deno.test("docs/openapi.json is current (regenerate: deno run -A scripts/gen_openapi.ts)", async () => {
  const current = await Deno.readTextFile(OPENAPI_PATH);
  assert(
    current === renderOpenApi(),
    `${OPENAPI_PATH} is stale: run deno run -A scripts/gen_openapi.ts`,
  );
});

Deno.test("every mounted endpoint is in the API reference with its method, path and named schemas", async () => {
  const doc = JSON.parse(await Deno.readTextFile(OPENAPI_PATH));
  const names = schemaNames();
  const documented = Object.entries(doc.paths as Record<string, Record<string, Json>>)
    .flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`))
    .sort();
  assertEquals(
    documented,
    endpoints.map((e) => `${e.method} /${e.name}${e.param ? `/{${e.param}}` : ""}`).sort(),
  );
  for (const endpoint of endpoints) {
    const path = `/${endpoint.name}${endpoint.param ? `/{${endpoint.param}}` : ""}`;
    const op = doc.paths[path][endpoint.method.toLowerCase()];
    assertEquals(op.summary, endpoint.summary, endpoint.name);
    for (const name of [endpoint.body, endpoint.query].filter((s) => s)) {
      assert(
        [...names.values()].includes(name!),
        `${endpoint.name}: a schema shared/api_schemas.ts does not export`,
      );
    }
    assertEquals(
      op.responses[String(endpoint.status)].content["application/json"].schema.$ref,
      `#/components/schemas/${endpoint.response}`,
      endpoint.name,
    );
    if (endpoint.body) {
      assertEquals(
        op.requestBody.content["application/json"].schema.$ref,
        `#/components/schemas/${endpoint.body}`,
        endpoint.name,
      );
    }
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
