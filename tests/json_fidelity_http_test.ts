// What is signed is what is chained: a bridge-event whose payload JSON.parse or jsonb would
// change is refused with 400 naming the field and writes nothing; one that survives is
// stored with the same values.
import { assertEquals, assertMatch } from "./_helpers/assert.ts";
import { randomWorkspace } from "./_helpers/fixtures.ts";
import { eventBody, postEvent, writtenRows } from "./_helpers/events.ts";
import { startStack } from "./_helpers/stack.ts";

Deno.test("bridge-event refuses a payload that cannot be stored as signed, naming the field, and writes nothing", async () => {
  const stack = await startStack();
  try {
    const ws = await randomWorkspace(stack.sql);
    const template = JSON.stringify(eventBody(ws.workspaceId, { payload: { n: "X" } }));
    const before = await writtenRows(stack.sql);
    for (
      const value of [
        "1e309",
        "9007199254740993",
        "0.1000000000000000000001",
        '"\\ud800"',
        '"a\\u0000b"',
      ]
    ) {
      const res = await postEvent(stack, ws, null, { rawBody: template.replace('"X"', value) });
      assertEquals(res.status, 400, value);
      assertEquals(res.body.error.code, "invalid_request", value);
      assertEquals(res.body.error.details[0].path, "payload.n", value);
      assertMatch(res.body.error.message, /payload\.n .* cannot be stored as sent/, value);
    }
    const proto = await postEvent(stack, ws, null, {
      rawBody: template.replace('"n":"X"', '"__proto__":{"admin":true}'),
    });
    assertEquals(proto.status, 400);
    assertEquals(proto.body.error.details[0].path, "payload.__proto__");
    assertEquals(await writtenRows(stack.sql), before, "nothing written");
  } finally {
    await stack.close();
  }
});

Deno.test("bridge-event stores numbers a double holds exactly with the same value", async () => {
  const stack = await startStack();
  try {
    const ws = await randomWorkspace(stack.sql);
    const raw = JSON.stringify(eventBody(ws.workspaceId, { payload: { n: "X" } })).replace(
      '"X"',
      '[1.0, 1e2, 0.1, -2.5e-7, 9007199254740991, "😀"]',
    );
    const res = await postEvent(stack, ws, null, { rawBody: raw });
    assertEquals(res.status, 202, JSON.stringify(res.body));
    const [row] = await stack
      .sql`select payload from public.events where id = ${res.body.event_id}`;
    assertEquals(row.payload.n, [1, 100, 0.1, -2.5e-7, 9007199254740991, "😀"]);
  } finally {
    await stack.close();
  }
});
