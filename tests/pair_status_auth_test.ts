// The bridge-auth contract (docs/contract/security.md#bridge-signing) on pair-status, a GET: what
// is signed, what is refused and with which code, and when the nonce is spent.
import { assert, assertEquals } from "./_helpers/assert.ts";
import { eventually } from "./_helpers/approvals.ts";
import {
  type BridgeCredentials,
  bridgeFetch,
  dropDatabase,
  freshDatabase,
  type Stack,
  startStack,
} from "./_helpers/stack.ts";
import { createSql, type Sql } from "../supabase/functions/_shared/db.ts";
import { credentialsOf, machine, startPairing } from "./_helpers/pairing.ts";
import { newNonce, signedHeaders } from "../shared/signing.ts";

async function status(
  stack: Stack,
  creds: BridgeCredentials,
  options: Parameters<typeof bridgeFetch>[5] = {},
  pathAndQuery = "/pair-status?wait=0",
): Promise<{ status: number; code?: string }> {
  const res = await bridgeFetch(stack, creds, "GET", pathAndQuery, undefined, options);
  const body = await res.json();
  return { status: res.status, code: body.error?.code };
}

async function withWorkspace(
  fn: (stack: Stack, creds: BridgeCredentials) => Promise<void>,
  env: Record<string, string> = {},
) {
  const stack = await startStack({ env });
  try {
    await fn(stack, credentialsOf(await startPairing(stack)));
  } finally {
    await stack.close();
  }
}

Deno.test("pair-status accepts a v2 signature and the seed's v1 signature", async () => {
  await withWorkspace(async (stack, creds) => {
    assertEquals(await status(stack, creds, { version: 2 }), { status: 200, code: undefined });
    assertEquals(await status(stack, creds, { version: 1 }), { status: 200, code: undefined });
    assertEquals(await status(stack, creds, {}, "/pair-status"), { status: 200, code: undefined });
  });
});

Deno.test("BRIDGE_SIGNATURE_MIN_VERSION=2 makes pair-status refuse v1 and still accept v2", async () => {
  await withWorkspace(async (stack, creds) => {
    assertEquals(await status(stack, creds, { version: 1 }), {
      status: 401,
      code: "unauthorized",
    });
    assertEquals((await status(stack, creds, { version: 2 })).status, 200);
  }, { BRIDGE_SIGNATURE_MIN_VERSION: "2" });
});

Deno.test("a v2 pair-status signature replayed against another query or path is refused", async () => {
  await withWorkspace(async (stack, creds) => {
    for (const [signed, sent] of [["wait=0", "wait=1"], ["wait=0", ""], ["", "wait=0"]]) {
      const headers = await signedHeaders({
        workspaceId: creds.workspaceId,
        secret: creds.secret,
        method: "GET",
        path: "/pair-status",
        query: signed,
      });
      const res = await fetch(`${stack.functionsUrl}/pair-status${sent ? `?${sent}` : ""}`, {
        headers,
      });
      assertEquals(res.status, 401, `signed ?${signed}, sent ?${sent}`);
      assertEquals((await res.json()).error.code, "unauthorized");
    }
    // signed as a GET of another function
    const headers = await signedHeaders({
      workspaceId: creds.workspaceId,
      secret: creds.secret,
      method: "GET",
      path: "/bridge-run-instructions",
      query: "wait=0",
    });
    const res = await fetch(`${stack.functionsUrl}/pair-status?wait=0`, { headers });
    assertEquals(res.status, 401);
    await res.body?.cancel();
  });
});

Deno.test("a pair-status clock skewed by 301 s either way is signature_expired", async () => {
  await withWorkspace(async (stack, creds) => {
    for (const skew of [301_000, -301_000]) {
      assertEquals(await status(stack, creds, { timestamp: Date.now() + skew }), {
        status: 401,
        code: "signature_expired",
      });
    }
    assertEquals((await status(stack, creds, { timestamp: Date.now() - 290_000 })).status, 200);
  });
});

Deno.test("a pair-status missing any bridge header is unauthorized", async () => {
  await withWorkspace(async (stack, creds) => {
    for (const missing of ["x-workspace-id", "x-timestamp", "x-nonce", "x-signature"]) {
      const headers = await signedHeaders({
        workspaceId: creds.workspaceId,
        secret: creds.secret,
        method: "GET",
        path: "/pair-status",
        query: "wait=0",
      });
      delete headers[missing];
      const res = await fetch(`${stack.functionsUrl}/pair-status?wait=0`, { headers });
      assertEquals(res.status, 401, missing);
      assertEquals((await res.json()).error.code, "unauthorized", missing);
    }
  });
});

Deno.test("a pair-status signed with a wrong secret, or the secret a re-pair replaced, is unauthorized", async () => {
  const stack = await startStack();
  try {
    const ids = machine();
    const old = credentialsOf(await startPairing(stack, ids));
    assertEquals(await status(stack, { ...old, secret: `${old.secret}x` }), {
      status: 401,
      code: "unauthorized",
    });
    assertEquals(await status(stack, { ...old, workspaceId: crypto.randomUUID() }), {
      status: 401,
      code: "unauthorized",
    });
    assertEquals((await status(stack, old)).status, 200);
    const fresh = credentialsOf(await startPairing(stack, ids, old)); // a signed re-pair
    assertEquals(await status(stack, old), { status: 401, code: "unauthorized" });
    assertEquals((await status(stack, fresh)).status, 200);
  } finally {
    await stack.close();
  }
});

Deno.test("a replayed pair-status nonce is replayed_nonce; a refused request leaves its nonce usable", async () => {
  await withWorkspace(async (stack, creds) => {
    const nonce = newNonce();
    // refused before the handler (bad query): the nonce is not spent
    assertEquals(await status(stack, creds, { nonce }, "/pair-status?wait=61"), {
      status: 400,
      code: "invalid_request",
    });
    assertEquals(await status(stack, creds, { nonce, timestamp: Date.now() + 400_000 }), {
      status: 401,
      code: "signature_expired",
    });
    assertEquals((await status(stack, creds, { nonce })).status, 200);
    assertEquals(await status(stack, creds, { nonce }), { status: 401, code: "replayed_nonce" });
    // also with another query and a fresh timestamp
    assertEquals(await status(stack, creds, { nonce }, "/pair-status?wait=1"), {
      status: 401,
      code: "replayed_nonce",
    });
    const [row] = await stack.sql`select count(*)::int as n from private.bridge_nonces
                                  where nonce = ${nonce}`;
    assertEquals(row.n, 1);
  });
});

Deno.test("pair-status refuses a bad wait with 400 and another method with 405", async () => {
  await withWorkspace(async (stack, creds) => {
    for (const wait of ["61", "-1", "abc", "1.5"]) {
      assertEquals(
        await status(stack, creds, {}, `/pair-status?wait=${wait}`),
        { status: 400, code: "invalid_request" },
        wait,
      );
    }
    const res = await bridgeFetch(stack, creds, "POST", "/pair-status", {});
    assertEquals(res.status, 405);
    assertEquals((await res.json()).error.code, "method_not_allowed");
  });
});

Deno.test("a waiting pair-status spends its nonce once, however often it re-reads", async () => {
  await withWorkspace(async (stack, creds) => {
    const nonce = newNonce();
    // wait=3 re-reads at least once (every 2 s) and then answers unpaired
    const res = await status(stack, creds, { nonce }, "/pair-status?wait=3");
    assertEquals(res, { status: 200, code: undefined });
    assertEquals(await status(stack, creds, { nonce }), { status: 401, code: "replayed_nonce" });
  });
});

Deno.test("shutdown answers a parked pair-status at once, unpaired", async () => {
  await withWorkspace(async (stack, creds) => {
    const waiting = status(stack, creds, {}, "/pair-status?wait=60");
    await eventually(() => stack.deps.pairing.parked() === 1, "the wait to park");
    stack.deps.pairing.shutdown();
    assertEquals(await waiting, { status: 200, code: undefined });
    assertEquals(stack.deps.pairing.parked(), 0);
  });
});

Deno.test("a client that goes away stops its parked pair-status", async () => {
  await withWorkspace(async (stack, creds) => {
    const aborter = new AbortController();
    const headers = await signedHeaders({
      workspaceId: creds.workspaceId,
      secret: creds.secret,
      method: "GET",
      path: "/pair-status",
      query: "wait=60",
    });
    const waiting = fetch(`${stack.functionsUrl}/pair-status?wait=60`, {
      headers,
      signal: aborter.signal,
    }).catch((error) => error);
    await eventually(() => stack.deps.pairing.parked() === 1, "the wait to park");
    aborter.abort();
    assert((await waiting) instanceof Error);
    await eventually(() => stack.deps.pairing.parked() === 0, "the parked request to go");
  });
});

/** A query pool that counts every query sent through it (tagged templates and unsafe). */
function countingSql(url: string): { sql: Sql; count(): number } {
  const sql = createSql(url, { max: 4 });
  let n = 0;
  const counted = new Proxy(sql, {
    apply(target, thisArg, args) {
      n++;
      return Reflect.apply(target, thisArg, args);
    },
    get(target, prop) {
      const value = Reflect.get(target, prop);
      if (prop === "unsafe") {
        return (...args: unknown[]) => {
          n++;
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { sql: counted, count: () => n };
}

Deno.test("parked pair-status waits cost one batched query per interval, not one per request, and a workspace parks 4 at most (429)", async () => {
  const databaseUrl = await freshDatabase();
  const pool = countingSql(databaseUrl);
  const stack = await startStack({
    databaseUrl,
    env: { PAIR_STATUS_POLL_MS: "100", APPROVAL_WAIT_LISTEN: "false" },
    overrides: { sql: pool.sql },
  });
  try {
    const workspaces: BridgeCredentials[] = [];
    for (let i = 0; i < 5; i++) workspaces.push(credentialsOf(await startPairing(stack)));
    const waits = workspaces.flatMap((creds) =>
      [1, 2, 3, 4].map(() => status(stack, creds, {}, "/pair-status?wait=60"))
    );
    await eventually(() => stack.deps.pairing.stats().parked === 20, "20 waits to park");

    const start = pool.count();
    const polls = stack.deps.pairing.stats().queries;
    const started = performance.now();
    await eventually(() => stack.deps.pairing.stats().queries >= polls + 5, "five polls");
    // A timer never fires early: however late this runs, the queries stay under the 100 ms
    // intervals that passed (re-reading per request would be 20 per interval).
    const intervals = (performance.now() - started) / 100;
    const sent = pool.count() - start;
    assert(sent <= intervals + 1, `${sent} queries in ${intervals.toFixed(1)} intervals`);

    // A fifth wait of one workspace is refused before its nonce is spent.
    const nonce = newNonce();
    const res = await bridgeFetch(stack, workspaces[0], "GET", "/pair-status?wait=60", undefined, {
      nonce,
    });
    assertEquals(res.status, 429);
    assertEquals((await res.json()).error.code, "rate_limited");
    assert(Number(res.headers.get("retry-after")) >= 1);
    assertEquals((await status(stack, workspaces[0], { nonce })).status, 200, "nonce spent");
    // another workspace's place is its own
    assertEquals(stack.deps.pairing.parked(), 20);

    stack.deps.pairing.shutdown();
    const answers = await Promise.all(waits);
    assert(answers.every((a) => a.status === 200), JSON.stringify(answers));
  } finally {
    await stack.close();
    await dropDatabase(databaseUrl);
  }
});
