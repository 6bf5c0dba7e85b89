// The handler context says which auth ran: these endpoints are only type-checked (deno
// test checks the file; an `@ts-expect-error` that is not an error fails it), plus one run
// of the dispatch auth kind through the real pipeline.
import { assertEquals } from "../../../tests/_helpers/assert.ts";
import { defineEndpoint, jsonResponse } from "./endpoint.ts";
import type { Deps } from "./deps.ts";
import { createLogger } from "./logger.ts";

const docs = { summary: "test", status: 200, response: "PushConfigResponse" as const, errors: [] };

export const typeChecks = [
  defineEndpoint({
    ...docs,
    name: "t-mobile",
    method: "GET",
    auth: "mobile",
    handle(ctx) {
      const userId: string = ctx.user.id;
      // @ts-expect-error: a mobile endpoint has no bridge identity
      ctx.bridge;
      return Promise.resolve(jsonResponse({ userId }));
    },
  }),
  defineEndpoint({
    ...docs,
    name: "t-bridge",
    method: "GET",
    auth: "bridge",
    handle(ctx) {
      const workspaceId: string = ctx.bridge.workspaceId;
      // @ts-expect-error: a bridge endpoint has no user
      ctx.user;
      return Promise.resolve(jsonResponse({ workspaceId }));
    },
  }),
  defineEndpoint({
    ...docs,
    name: "t-optional",
    method: "GET",
    auth: "bridge-optional",
    handle(ctx) {
      // @ts-expect-error: the identity is there only when the request was signed
      const workspaceId: string = ctx.bridge.workspaceId;
      return Promise.resolve(jsonResponse({ workspaceId, signed: ctx.bridge !== undefined }));
    },
  }),
  defineEndpoint({
    ...docs,
    name: "t-none",
    method: "GET",
    auth: "none",
    handle(ctx) {
      // @ts-expect-error: no auth, no identity
      ctx.bridge;
      // @ts-expect-error: no auth, no user
      ctx.user;
      return Promise.resolve(jsonResponse({}));
    },
  }),
];

Deno.test("auth dispatch refuses a wrong bearer before the handler runs, and admits the right one", async () => {
  let ran = 0;
  const endpoint = defineEndpoint({
    ...docs,
    name: "t-dispatch",
    method: "POST",
    auth: "dispatch",
    handle() {
      ran++;
      return Promise.resolve(jsonResponse({ ok: true }));
    },
  });
  const deps = {
    config: { PUSH_DISPATCH_SECRET: "s3cret-for-the-test", BODY_READ_TIMEOUT_MS: 5000 },
    log: createLogger("error"),
  } as unknown as Deps;
  const call = (authorization?: string) =>
    endpoint.handler(
      new Request("http://localhost/t-dispatch", {
        method: "POST",
        headers: authorization ? { authorization } : {},
      }),
      deps,
    );
  for (const wrong of [undefined, "Bearer nope", "s3cret-for-the-test", "Basic s3cret"]) {
    const res = await call(wrong);
    assertEquals(res.status, 401, String(wrong));
    assertEquals((await res.json()).error.code, "unauthorized");
  }
  assertEquals(ran, 0);
  const ok = await call("Bearer s3cret-for-the-test");
  assertEquals([ok.status, await ok.json(), ran], [200, { ok: true }, 1]);
});

Deno.test("the request's signal is read only by a handler that uses ctx.signal (Deno aborts every signal it created after the response)", async () => {
  const deps = {
    config: { BODY_READ_TIMEOUT_MS: 5000 },
    log: createLogger("error"),
  } as unknown as Deps;
  const endpoint = (name: string, readsSignal: boolean) =>
    defineEndpoint({
      ...docs,
      name,
      method: "GET",
      auth: "none",
      handle(ctx) {
        return Promise.resolve(jsonResponse({ aborted: readsSignal ? ctx.signal.aborted : null }));
      },
    });
  const countingRequest = (name: string) => {
    const req = new Request(`http://localhost/${name}`);
    const controller = new AbortController();
    const reads = { n: 0 };
    Object.defineProperty(req, "signal", {
      get() {
        reads.n++;
        return controller.signal;
      },
    });
    return { req, reads };
  };
  const quiet = countingRequest("t-quiet");
  const res = await endpoint("t-quiet", false).handler(quiet.req, deps);
  assertEquals([res.status, await res.json(), quiet.reads.n], [200, { aborted: null }, 0]);
  const waiting = countingRequest("t-waiting");
  const res2 = await endpoint("t-waiting", true).handler(waiting.req, deps);
  assertEquals([res2.status, await res2.json(), waiting.reads.n], [200, { aborted: false }, 1]);
});
