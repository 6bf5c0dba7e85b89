import { assert, assertEquals } from "./_helpers/assert.ts";
import { fetchJson, startStack } from "./_helpers/stack.ts";

Deno.test("the router answers an unknown function with 404 in the API's error shape", async () => {
  const stack = await startStack();
  try {
    const res = await fetchJson(`${stack.functionsUrl}/no-such-function`, {
      headers: { "x-request-id": "req-123" },
    });
    assertEquals(res.status, 404);
    assertEquals(res.body.error.code, "not_found");
    assertEquals(res.headers.get("x-request-id"), "req-123");
  } finally {
    await stack.close();
  }
});

Deno.test("every endpoint of docs/contract/api.md is mounted and answers JSON with a request id", async () => {
  const stack = await startStack();
  try {
    for (
      const name of [
        "pair-start",
        "pair-complete",
        "pair-status",
        "bridge-event",
        "bridge-approval-request",
        "bridge-approval-wait",
        "mobile-approval-decision",
        "mobile-device",
        "mobile-unpair",
      ]
    ) {
      const res = await fetch(`${stack.functionsUrl}/${name}`, { method: "PUT" });
      assertEquals(res.status, 405, name);
      const body = await res.json();
      assertEquals(body.error.code, "method_not_allowed", name);
      assert(res.headers.get("x-request-id"), name);
    }
  } finally {
    await stack.close();
  }
});
