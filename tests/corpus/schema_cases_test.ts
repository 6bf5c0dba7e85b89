import * as v from "valibot";
import * as api from "../../shared/api_schemas.ts";
import { assert } from "../_helpers/assert.ts";
import { bodyCases } from "./schema_cases.ts";
import { casesFor, ENDPOINTS } from "./cases.ts";
import type { World } from "./world.ts";
import type { Stack } from "../_helpers/stack.ts";

const tenant = (n: number) => ({
  ws: { workspaceId: crypto.randomUUID(), secret: "s".repeat(43), displayName: `W${n}` },
  userId: crypto.randomUUID(),
  deviceId: crypto.randomUUID(),
  token: "t",
  runId: crypto.randomUUID(),
  approvalId: crypto.randomUUID(),
  pairToken: "ABCDEFGH",
  ruleId: crypto.randomUUID(),
});
const world: World = { a: tenant(1), b: tenant(2) };
const sender = { stack: { functionsUrl: "http://127.0.0.1:9" } as Stack, world };

Deno.test("each corpus endpoint's base body is valid, so every generated variant is refused for its own flaw", () => {
  for (const ep of ENDPOINTS.filter((e) => e.body)) {
    const result = v.safeParse(ep.body!, ep.valid!(world));
    assert(
      result.success,
      `${ep.name}: base body is refused: ${JSON.stringify(result.issues)}`,
    );
    const cases = bodyCases(ep.body!, ep.valid!(world));
    assert(cases.length >= 15, `${ep.name}: only ${cases.length} generated cases`);
    for (const c of cases) assert(!v.safeParse(ep.body!, c.body).success, `${ep.name}: ${c.label}`);
  }
});

Deno.test("the corpus has hundreds of cases across every endpoint", () => {
  const total = ENDPOINTS.reduce((n, ep) => n + casesFor(sender, ep).length, 0);
  assert(total >= 500, `only ${total} cases`);
  assert(ENDPOINTS.every((ep) => casesFor(sender, ep).length >= 10));
});

Deno.test("every request body schema refuses a JSON array, even one whose fields are all optional", () => {
  const bodies = Object.entries(api).filter(([name]) => name.endsWith("Request"));
  assert(bodies.length >= 10, `only ${bodies.length} request schemas`);
  for (const [name, schema] of bodies) {
    for (const body of [[], [{}]]) {
      assert(
        !v.safeParse(schema as v.GenericSchema, body).success,
        `${name}: ${JSON.stringify(body)}`,
      );
    }
  }
});
