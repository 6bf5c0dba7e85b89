// Bridge authentication and the bad-input contract (docs/contract/security.md#bridge-signing,
// docs/contract/targets.md#bad-input), end to end: signed requests over real HTTP to bridge-event,
// against a real database.
import { assert, assertEquals } from "./_helpers/assert.ts";
import {
  bridgeFetch,
  clearOfRateWindowEdge,
  type Stack,
  startStack,
  TEST_HMAC_SECRET,
} from "./_helpers/stack.ts";
import { randomWorkspace, type TestWorkspace } from "./_helpers/fixtures.ts";
import { eventBody, postEvent, writtenRows } from "./_helpers/events.ts";
import { constantTime, deriveBridgeSecret, signedHeaders } from "../shared/signing.ts";

async function withStack(
  fn: (stack: Stack, ws: TestWorkspace) => Promise<void>,
  env: Record<string, string> = {},
): Promise<void> {
  const stack = await startStack({ env });
  try {
    const ws = await randomWorkspace(stack.sql);
    // the tests here count events up to an exact 429 (per minute and per hour)
    if (Object.keys(env).some((k) => k.startsWith("RATE_LIMIT_"))) await clearOfRateWindowEdge();
    await fn(stack, ws);
  } finally {
    await stack.close();
  }
}

/** Sends raw headers and body to bridge-event. */
async function rawPost(
  stack: Stack,
  headers: Record<string, string>,
  body: string,
  pathAndQuery = "/bridge-event",
) {
  const res = await fetch(`${stack.functionsUrl}${pathAndQuery}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
  });
  return { status: res.status, body: await res.json(), headers: res.headers };
}

/** Asserts the API's error shape and that nothing was written since `before`. */
async function assertRefused(
  stack: Stack,
  before: Record<string, number>,
  res: { status: number; body: { error?: { code: string } } },
  status: number,
  code: string,
  what: string,
) {
  assertEquals(res.status, status, `${what}: status`);
  assertEquals(res.body.error?.code, code, `${what}: error code`);
  assertEquals(await writtenRows(stack.sql), before, `${what}: nothing written`);
}

Deno.test("bridge-event accepts a v2 signature and the seed's v1 signature", async () => {
  await withStack(async (stack, ws) => {
    const v2 = await postEvent(stack, ws, eventBody(ws.workspaceId));
    assertEquals(v2.status, 202);
    assertEquals(v2.body.duplicate, false);
    const v1 = await postEvent(stack, ws, eventBody(ws.workspaceId), { version: 1 });
    assertEquals(v1.status, 202);
    assertEquals(v1.body.duplicate, false);
    const [{ count }] = await stack.sql`select count(*)::int from public.events`;
    assertEquals(count, 2);
  });
});

Deno.test("BRIDGE_SIGNATURE_MIN_VERSION=2 refuses v1 and still accepts v2", async () => {
  await withStack(async (stack, ws) => {
    const before = await writtenRows(stack.sql);
    const v1 = await postEvent(stack, ws, eventBody(ws.workspaceId), { version: 1 });
    await assertRefused(stack, before, v1, 401, "unauthorized", "v1");
    assertEquals((await postEvent(stack, ws, eventBody(ws.workspaceId))).status, 202);
  }, { BRIDGE_SIGNATURE_MIN_VERSION: "2" });
});

Deno.test("a v2 signature replayed against another path, method or query is refused", async () => {
  await withStack(async (stack, ws) => {
    const body = JSON.stringify(eventBody(ws.workspaceId));
    const before = await writtenRows(stack.sql);
    const sign = (method: string, path: string, query = "") =>
      signedHeaders({ workspaceId: ws.workspaceId, secret: ws.secret, method, path, query, body });
    const otherPath = await rawPost(stack, await sign("POST", "/bridge-approval-request"), body);
    await assertRefused(stack, before, otherPath, 401, "unauthorized", "other path");
    const otherMethod = await rawPost(stack, await sign("GET", "/bridge-event"), body);
    await assertRefused(stack, before, otherMethod, 401, "unauthorized", "other method");
    const addedQuery = await rawPost(
      stack,
      await sign("POST", "/bridge-event"),
      body,
      "/bridge-event?x=1",
    );
    await assertRefused(stack, before, addedQuery, 401, "unauthorized", "added query");
    const changedQuery = await rawPost(
      stack,
      await sign("POST", "/bridge-event", "x=1"),
      body,
      "/bridge-event?x=2",
    );
    await assertRefused(stack, before, changedQuery, 401, "unauthorized", "changed query");
    const otherBody = await rawPost(
      stack,
      await sign("POST", "/bridge-event"),
      body.replace("Bash", "Bosh"),
    );
    await assertRefused(stack, before, otherBody, 401, "unauthorized", "other body");
  });
});

Deno.test("a replayed nonce is refused with replayed_nonce and writes nothing", async () => {
  await withStack(async (stack, ws) => {
    const nonce = "replayed-nonce-0001";
    assertEquals((await postEvent(stack, ws, eventBody(ws.workspaceId), { nonce })).status, 202);
    const before = await writtenRows(stack.sql);
    // the very same request, and a new request (new signature) reusing the nonce
    const again = await postEvent(stack, ws, eventBody(ws.workspaceId), { nonce });
    await assertRefused(stack, before, again, 401, "replayed_nonce", "reused nonce");
    const v1 = await postEvent(stack, ws, eventBody(ws.workspaceId), { nonce, version: 1 });
    await assertRefused(stack, before, v1, 401, "replayed_nonce", "reused nonce, v1");
  });
});

Deno.test("a clock skewed more than 300 s either way is refused with signature_expired", async () => {
  await withStack(async (stack, ws) => {
    const before = await writtenRows(stack.sql);
    for (const skew of [-301_000, 301_000]) {
      const res = await postEvent(stack, ws, eventBody(ws.workspaceId), {
        timestamp: Date.now() + skew,
      });
      await assertRefused(stack, before, res, 401, "signature_expired", `skew ${skew}`);
    }
    const within = await postEvent(stack, ws, eventBody(ws.workspaceId), {
      timestamp: Date.now() - 240_000,
    });
    assertEquals(within.status, 202, "a 240 s old timestamp is within the window");
  });
});

Deno.test("a wrong secret, an unknown workspace and a rotated secret are unauthorized", async () => {
  await withStack(async (stack, ws) => {
    const before = await writtenRows(stack.sql);
    const wrong = await postEvent(
      stack,
      { workspaceId: ws.workspaceId, secret: ws.secret.slice(1) + "x" },
      eventBody(ws.workspaceId),
    );
    await assertRefused(stack, before, wrong, 401, "unauthorized", "wrong secret");
    const unknownId = crypto.randomUUID();
    const unknown = await postEvent(
      stack,
      { workspaceId: unknownId, secret: ws.secret },
      eventBody(unknownId),
    );
    await assertRefused(stack, before, unknown, 401, "unauthorized", "unknown workspace");
    await stack.sql`update private.workspace_keys set secret_version = secret_version + 1
                    where workspace_id = ${ws.workspaceId}`;
    const rotated = await postEvent(stack, ws, eventBody(ws.workspaceId));
    await assertRefused(stack, before, rotated, 401, "unauthorized", "rotated secret");
  });
});

Deno.test("after re-pairing, the new secret works at once and the old one is refused", async () => {
  await withStack(async (stack, ws) => {
    // the functions have seen (and may cache) the workspace's current secret version
    assertEquals((await postEvent(stack, ws, eventBody(ws.workspaceId))).status, 202);
    const [{ secret_version: version }] = await stack.sql`
      update private.workspace_keys set secret_version = secret_version + 1
      where workspace_id = ${ws.workspaceId} returning secret_version`;
    const before = await writtenRows(stack.sql);
    const old = await postEvent(stack, ws, eventBody(ws.workspaceId));
    await assertRefused(stack, before, old, 401, "unauthorized", "the old secret");
    const secret = await deriveBridgeSecret(TEST_HMAC_SECRET, ws.workspaceId, version);
    const renewed = await postEvent(
      stack,
      { workspaceId: ws.workspaceId, secret },
      eventBody(ws.workspaceId),
    );
    assertEquals(renewed.status, 202);
    const again = await postEvent(stack, ws, eventBody(ws.workspaceId));
    assertEquals(again.status, 401, "the old secret stays refused");
  });
});

Deno.test("a request missing any of the four bridge headers is unauthorized", async () => {
  await withStack(async (stack, ws) => {
    const body = JSON.stringify(eventBody(ws.workspaceId));
    const before = await writtenRows(stack.sql);
    for (const header of ["x-workspace-id", "x-timestamp", "x-nonce", "x-signature"]) {
      const headers = await signedHeaders({
        workspaceId: ws.workspaceId,
        secret: ws.secret,
        method: "POST",
        path: "/bridge-event",
        body,
      });
      delete headers[header];
      const res = await rawPost(stack, headers, body);
      await assertRefused(stack, before, res, 401, "unauthorized", `without ${header}`);
      assert(res.body.error.message.toLowerCase().includes(header), res.body.error.message);
    }
    const unsigned = await rawPost(stack, {}, body);
    await assertRefused(stack, before, unsigned, 401, "unauthorized", "no headers at all");
  });
});

Deno.test("malformed bridge headers are unauthorized, never a 5xx", async () => {
  await withStack(async (stack, ws) => {
    const body = JSON.stringify(eventBody(ws.workspaceId));
    const before = await writtenRows(stack.sql);
    const cases: Record<string, string>[] = [
      { "x-workspace-id": "not-a-uuid" },
      { "x-workspace-id": "'; drop table public.events; --" },
      { "x-timestamp": "yesterday" },
      { "x-timestamp": "-1000" },
      { "x-nonce": "short" },
      { "x-nonce": "has spaces in it" },
      { "x-nonce": "x".repeat(129) },
      { "x-signature": "zz".repeat(32) },
      { "x-signature": "ab" },
      { "x-signature-version": "3" },
    ];
    for (const override of cases) {
      const headers = await signedHeaders({
        workspaceId: ws.workspaceId,
        secret: ws.secret,
        method: "POST",
        path: "/bridge-event",
        body,
      });
      const res = await rawPost(stack, { ...headers, ...override }, body);
      await assertRefused(stack, before, res, 401, "unauthorized", JSON.stringify(override));
    }
  });
});

Deno.test("bad bodies get their contract error and write nothing", async () => {
  await withStack(async (stack, ws) => {
    const other = await randomWorkspace(stack.sql);
    const before = await writtenRows(stack.sql);
    const valid = eventBody(ws.workspaceId);
    const big = eventBody(ws.workspaceId, { payload: { blob: "x".repeat(70 * 1024) } });
    const cases: [string, { rawBody?: string; body?: unknown }, number, string][] = [
      ["a 70 KiB body", { body: big }, 413, "payload_too_large"],
      ["bad JSON", { rawBody: '{"workspace_id": ' }, 400, "invalid_json"],
      ["an empty body", { rawBody: "" }, 400, "invalid_json"],
      ["a JSON array", { body: [valid] }, 400, "invalid_request"],
      ["a wrong type", { body: { ...valid, payload: "text" } }, 400, "invalid_request"],
      ["a numeric timestamp", { body: { ...valid, event_ts: 5 } }, 400, "invalid_request"],
      ["an unknown field", { body: { ...valid, extra: 1 } }, 400, "invalid_request"],
      [
        "a lower-case type",
        { body: { ...valid, event_type: "run_started" } },
        400,
        "invalid_request",
      ],
      [
        "a 65-char type",
        { body: { ...valid, event_type: "A".repeat(65) } },
        400,
        "invalid_request",
      ],
      ["a bad run id", { body: { ...valid, run_id: "1 or 1=1" } }, 400, "invalid_request"],
      ["a missing run id", { body: { ...valid, run_id: undefined } }, 400, "invalid_request"],
      [
        "an impossible date",
        {
          body: { ...valid, event_ts: "2026-02-30T10:00:00Z" },
        },
        400,
        "invalid_request",
      ],
      [
        "a payload nested 9,000 deep",
        {
          rawBody: JSON.stringify(valid).replace(
            '{"tool":"Bash"}',
            '{"a":'.repeat(9_000) + "1" + "}".repeat(9_000),
          ),
        },
        400,
        "invalid_request",
      ],
      [
        "a NUL in the payload",
        {
          body: { ...valid, payload: { message: "a\u0000b" } },
        },
        400,
        "invalid_request",
      ],
      [
        "a mismatched workspace",
        {
          body: { ...valid, workspace_id: other.workspaceId },
        },
        403,
        "forbidden",
      ],
    ];
    for (const [what, input, status, code] of cases) {
      const res = await postEvent(stack, ws, input.body, { rawBody: input.rawBody });
      await assertRefused(stack, before, res, status, code, what);
      // the schema's issues are in details; the database refuses what JSON allows and jsonb does not
      if (code === "invalid_request" && !what.includes("NUL")) {
        assert(Array.isArray(res.body.error.details), what);
      }
    }
    const text = await bridgeFetch(stack, ws, "POST", "/bridge-event", valid, {
      headers: { "content-type": "text/plain" },
    });
    assertEquals(text.status, 415);
    assertEquals((await text.json()).error.code, "unsupported_media_type");
    const get = await bridgeFetch(stack, ws, "GET", "/bridge-event");
    assertEquals(get.status, 405);
    await get.body?.cancel();
    assertEquals(await writtenRows(stack.sql), before);
  });
});

Deno.test("a refused request leaves its nonce usable", async () => {
  await withStack(async (stack, ws) => {
    const other = await randomWorkspace(stack.sql);
    const valid = eventBody(ws.workspaceId);
    const refusals: [number, { rawBody?: string; body?: unknown }][] = [
      [400, { rawBody: "{oops" }],
      [400, { body: { ...valid, extra: true } }],
      [403, { body: { ...valid, workspace_id: other.workspaceId } }],
      [409, { body: eventBody(ws.workspaceId, { run_id: await runOf(stack, other) }) }],
    ];
    for (const [status, input] of refusals) {
      const nonce = `nonce-${crypto.randomUUID()}`;
      const refused = await postEvent(stack, ws, input.body, { nonce, rawBody: input.rawBody });
      assertEquals(refused.status, status, JSON.stringify(refused.body));
      const accepted = await postEvent(stack, ws, eventBody(ws.workspaceId), { nonce });
      assertEquals(accepted.status, 202, `the nonce of a ${status} is usable`);
    }
  });
});

/** A run stored in the workspace, by one event. */
async function runOf(stack: Stack, ws: TestWorkspace): Promise<string> {
  const res = await postEvent(stack, ws, eventBody(ws.workspaceId));
  assertEquals(res.status, 202);
  return res.body.run_id;
}

Deno.test("200 concurrent copies of one signed request are accepted exactly once, no 5xx", async () => {
  await withStack(async (stack, ws) => {
    const body = JSON.stringify(eventBody(ws.workspaceId));
    const headers = await signedHeaders({
      workspaceId: ws.workspaceId,
      secret: ws.secret,
      method: "POST",
      path: "/bridge-event",
      body,
    });
    const results = await Promise.all(
      Array.from({ length: 200 }, () => rawPost(stack, headers, body)),
    );
    const statuses = results.map((r) => r.status);
    assertEquals(statuses.filter((s) => s === 202).length, 1);
    assertEquals(statuses.filter((s) => s >= 500).length, 0);
    assertEquals(
      results.filter((r) => r.status === 401 && r.body.error.code === "replayed_nonce").length,
      199,
    );
    const [{ count }] = await stack.sql`select count(*)::int from public.events`;
    assertEquals(count, 1);
  });
});

Deno.test("the signature is checked in constant time (timingSafeEqual)", async () => {
  await withStack(async (stack, ws) => {
    const original = constantTime.equal;
    const calls: boolean[] = [];
    constantTime.equal = (a, b) => {
      const equal = original(a, b);
      calls.push(equal);
      return equal;
    };
    try {
      const bad = await postEvent(
        stack,
        { workspaceId: ws.workspaceId, secret: "not-the-secret" },
        eventBody(ws.workspaceId),
      );
      assertEquals(bad.status, 401);
      assertEquals(calls, [false]);
      const good = await postEvent(stack, ws, eventBody(ws.workspaceId));
      assertEquals(good.status, 202);
      assertEquals(calls, [false, true]);
    } finally {
      constantTime.equal = original;
    }
  });
});

Deno.test("past RATE_LIMIT_EVENTS_PER_MINUTE a workspace gets 429 with Retry-After", async () => {
  await withStack(async (stack, ws) => {
    const stored = [];
    for (let i = 0; i < 3; i++) {
      const res = await postEvent(stack, ws, eventBody(ws.workspaceId));
      assertEquals(res.status, 202);
      stored.push(res.body);
    }
    const before = await writtenRows(stack.sql);
    const nonce = `limited-${crypto.randomUUID()}`;
    const limited = await postEvent(stack, ws, eventBody(ws.workspaceId), { nonce });
    await assertRefused(stack, before, limited, 429, "rate_limited", "4th event");
    const retryAfter = Number(limited.headers.get("retry-after"));
    assert(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `${retryAfter}`);
    assertEquals(limited.body.error.details.retry_after, retryAfter);
    // the refused request's nonce is still unused: its replay is limited, not replayed
    const replay = await postEvent(stack, ws, eventBody(ws.workspaceId), { nonce });
    assertEquals(replay.body.error.code, "rate_limited");
    // a retry of a stored event is answered: the original already paid
    const retry = await postEvent(stack, ws, {
      ...eventBody(ws.workspaceId, { run_id: stored[0].run_id }),
      event_id: stored[0].event_id,
    });
    assertEquals(retry.status, 202);
    assertEquals(retry.body.duplicate, true);
    // the limit is per workspace
    const other = await randomWorkspace(stack.sql);
    assertEquals((await postEvent(stack, other, eventBody(other.workspaceId))).status, 202);
    // the counters live in Postgres
    const [row] = await stack.sql`select hits from private.rate_limits
                                  where bucket = ${`events:${ws.workspaceId}:60`}`;
    assertEquals(row.hits, 3);
  }, { RATE_LIMIT_EVENTS_PER_MINUTE: "3" });
});

Deno.test("past RATE_LIMIT_EVENTS_PER_HOUR a workspace gets 429 for up to an hour", async () => {
  await withStack(async (stack, ws) => {
    for (let i = 0; i < 2; i++) {
      assertEquals((await postEvent(stack, ws, eventBody(ws.workspaceId))).status, 202);
    }
    const before = await writtenRows(stack.sql);
    const limited = await postEvent(stack, ws, eventBody(ws.workspaceId));
    await assertRefused(stack, before, limited, 429, "rate_limited", "3rd event this hour");
    const retryAfter = Number(limited.headers.get("retry-after"));
    assert(retryAfter >= 1 && retryAfter <= 3600, `${retryAfter}`);
  }, { RATE_LIMIT_EVENTS_PER_MINUTE: "100", RATE_LIMIT_EVENTS_PER_HOUR: "2" });
});

Deno.test("over both limits, Retry-After is the wait for the hour window", async () => {
  await withStack(async (stack, ws) => {
    for (let i = 0; i < 2; i++) {
      assertEquals((await postEvent(stack, ws, eventBody(ws.workspaceId))).status, 202);
    }
    const limited = await postEvent(stack, ws, eventBody(ws.workspaceId));
    assertEquals(limited.status, 429);
    const [{ until_hour: untilHour }] = await stack.sql`
      select ceil(3600 - extract(epoch from now())::numeric % 3600)::int as until_hour`;
    const retryAfter = Number(limited.headers.get("retry-after"));
    assert(Math.abs(retryAfter - untilHour) <= 2, `${retryAfter} vs ${untilHour}`);
  }, { RATE_LIMIT_EVENTS_PER_MINUTE: "2", RATE_LIMIT_EVENTS_PER_HOUR: "2" });
});

// One SQL call, its arguments bound parameters (never SQL text, which Postgres logs when a
// statement fails: tests/server_log_test.ts). With prepare: false postgres.js spends two
// protocol round trips on it (README, "Security hardening").
Deno.test("a signed event costs one SQL call with bound parameters, rate limits included", async () => {
  await withStack(async (stack, ws) => {
    const real = stack.deps.sql;
    const calls: string[] = [];
    // counts what the functions send: tagged-template queries and sql.unsafe calls
    stack.deps.sql = new Proxy(real, {
      apply(target, self, args) {
        calls.push(String(args[0]?.raw?.join("?") ?? args[0]).trim().slice(0, 60));
        return Reflect.apply(target, self, args);
      },
      get(target, prop, receiver) {
        if (prop === "unsafe") {
          return (text: string, ...rest: unknown[]) => {
            const params = (rest[0] as unknown[] | undefined)?.length ?? 0;
            calls.push(`${text.trim().slice(0, 60)} params=${params}`);
            // deno-lint-ignore no-explicit-any
            return (target.unsafe as any)(text, ...rest);
          };
        }
        return Reflect.get(target, prop, receiver);
      },
    });
    try {
      assertEquals((await postEvent(stack, ws, eventBody(ws.workspaceId))).status, 202);
      calls.length = 0; // the first request of an isolate also reads the secret version
      for (let i = 0; i < 3; i++) {
        assertEquals((await postEvent(stack, ws, eventBody(ws.workspaceId))).status, 202);
      }
      const limited = await postEvent(stack, ws, eventBody(ws.workspaceId));
      assertEquals(limited.status, 429);
      assertEquals(calls.length, 4, calls.join("\n"));
      for (const call of calls) {
        assert(call.startsWith("select private.ingest_event("), call);
        assert(call.endsWith(" params=6"), call);
      }
    } finally {
      stack.deps.sql = real;
    }
  }, { RATE_LIMIT_EVENTS_PER_MINUTE: "4" });
});
