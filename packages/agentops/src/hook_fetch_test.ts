import { assert, assertEquals } from "../../../tests/_helpers/assert.ts";
import { hookFetch } from "./hook_fetch.ts";

/** A loopback server for one test: answers with `handler`, closed after `run`. */
async function withServer(
  handler: (req: Request) => Response | Promise<Response>,
  run: (url: string) => Promise<void>,
) {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
  try {
    await run(`http://127.0.0.1:${server.addr.port}`);
  } finally {
    await server.shutdown();
  }
}

Deno.test("hookFetch() sends the method, headers and body, and reads status, headers and body", async () => {
  const seen: unknown[] = [];
  await withServer(async (req) => {
    seen.push([
      req.method,
      new URL(req.url).search,
      req.headers.get("x-signature"),
      await req.text(),
    ]);
    return Response.json({ error: { code: "rate_limited" } }, {
      status: 429,
      headers: { "retry-after": "3" },
    });
  }, async (url) => {
    const body = JSON.stringify({ note: "é€" });
    const res = await hookFetch(`${url}/bridge-event?x=1`, {
      method: "POST",
      headers: { "x-signature": "abc", "content-type": "application/json" },
      body,
    });
    assertEquals([res.status, res.ok, res.headers.get("Retry-After")], [429, false, "3"]);
    assertEquals(await res.json(), { error: { code: "rate_limited" } });
    assertEquals(seen, [["POST", "?x=1", "abc", body]]);
    const ok = await hookFetch(`${url}/pair-status`);
    assertEquals([ok.status, ok.ok, ok.headers.get("x-missing")], [429, false, null]);
    assertEquals(JSON.parse(await ok.text()), { error: { code: "rate_limited" } });
  });
});

Deno.test("hookFetch() rejects with the signal's TimeoutError when no answer comes in time", async () => {
  let release = () => {};
  const held = new Promise<void>((resolve) => release = resolve);
  await withServer(async () => {
    await held; // answers only once the client gave up
    return new Response("late");
  }, async (url) => {
    let error: unknown;
    try {
      await hookFetch(`${url}/bridge-approval-wait/x`, { signal: AbortSignal.timeout(200) });
    } catch (e) {
      error = e;
    } finally {
      release();
    }
    assert(error instanceof DOMException && error.name === "TimeoutError", String(error));
  });
});

Deno.test("hookFetch() rejects when nothing listens, as fetch does", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  let error: unknown;
  try {
    await hookFetch(`http://127.0.0.1:${port}/bridge-event`, { method: "POST", body: "{}" });
  } catch (e) {
    error = e;
  }
  assert(error instanceof Error, String(error));
});
