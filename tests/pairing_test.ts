// End-to-end pairing (docs/contract/api.md#pairing): the extension signs with the project's
// own signer, the phone is the real supabase-js client (functions.invoke).
import * as v from "valibot";
import { assert, assertEquals, assertMatch, assertNotEquals } from "./_helpers/assert.ts";
import {
  clearOfRateWindowEdge,
  fetchJson,
  type Json,
  mintUserToken,
  startStack,
} from "./_helpers/stack.ts";
import { randomDevice } from "./_helpers/fixtures.ts";
import { invoke, phoneClient } from "./_helpers/phone.ts";
import { eventually } from "./_helpers/approvals.ts";
import {
  completeBody,
  count,
  credentialsOf as creds,
  machine,
  pairStart,
  pairStatus,
  phoneOf,
  type Started,
  startPairing as started,
} from "./_helpers/pairing.ts";
import { FunctionsHttpError } from "@supabase/supabase-js";
import {
  PairCompleteResponse,
  PairStartResponse,
  PairStatusResponse,
} from "../shared/api_schemas.ts";
import { sha256Hex } from "../shared/signing.ts";
import * as jose from "jose";

Deno.test("pairing: pair-start, the phone's pair-complete and a waiting pair-status make one dance", async () => {
  const stack = await startStack();
  try {
    const start = await pairStart(stack);
    assertEquals(start.status, 201);
    const s: Started = v.parse(PairStartResponse, start.body);
    assertMatch(s.pair_token, /^[0-9A-HJKMNP-TV-Z]{8}$/);
    assertEquals(s.pairing_uri, `agentops://pair?token=${s.pair_token}`);
    const ttl = Date.parse(s.expires_at) - Date.now();
    assert(ttl > 590_000 && ttl <= 600_000, `expires in ${ttl} ms`);

    // only the hash is stored
    const [token] = await stack.sql`select * from private.pair_tokens`;
    assertEquals(token.token_hash, await sha256Hex(s.pair_token));
    assertEquals(token.workspace_id, s.workspace_id);
    assertEquals(token.used_at, null);

    const before = await pairStatus(stack, creds(s));
    assertEquals(before.status, 200);
    assertEquals(before.body, { workspace_id: s.workspace_id, paired: false, devices: [] });

    // the extension waits while the phone pairs
    const waiting = pairStatus(stack, creds(s), 30);
    await eventually(() => stack.deps.pairing.parked() === 1, "pair-status to park");
    await eventually(() => stack.deps.pairing.listening, "LISTEN workspace_paired");
    const phone = await phoneOf(stack);
    const done = await invoke(phone.client, "pair-complete", completeBody(s.pair_token));
    assertEquals(done.status, 200, JSON.stringify(done.body));
    const paired = v.parse(PairCompleteResponse, done.body);
    assertEquals(paired.workspace_id, s.workspace_id);
    assertEquals(paired.display_name, "agentops-backend");

    const status = await waiting;
    assertEquals(status.status, 200);
    v.parse(PairStatusResponse, status.body);
    assertEquals(status.body.paired, true);
    assertEquals(status.body.devices.length, 1);
    assertEquals(status.body.devices[0].device_id, paired.device_id);
    assertEquals(status.body.devices[0].platform, "ios");
    assertEquals(status.body.devices[0].device_name, "Ada's iPhone");

    const [device] = await stack.sql`select * from public.devices where id = ${paired.device_id}`;
    assertEquals(device.user_id, phone.userId);
    assertEquals(device.push_provider, "apns");
    assert(device.push_token_updated_at);
    const [used] = await stack.sql`select used_at from private.pair_tokens`;
    assert(used.used_at, "the token is used");

    // DEVICE_PAIRED on the workspace-level chain
    const events = await stack.sql`
      select * from public.events where workspace_id = ${s.workspace_id} and run_id is null`;
    assertEquals(events.length, 1);
    assertEquals(events[0].type, "DEVICE_PAIRED");
    assertEquals(events[0].seq, 1);
    assertEquals(events[0].payload.device_id, paired.device_id);
  } finally {
    await stack.close();
  }
});

Deno.test("pair-status with wait answers at once when a device is already paired", async () => {
  const stack = await startStack();
  try {
    const s = await started(stack);
    const phone = await phoneOf(stack);
    assertEquals(
      (await invoke(phone.client, "pair-complete", completeBody(s.pair_token))).status,
      200,
    );
    const status = await pairStatus(stack, creds(s), 60);
    assertEquals(status.body.paired, true);
  } finally {
    await stack.close();
  }
});

Deno.test("pair-complete reads the token in any case, with hyphens and Crockford aliases", async () => {
  const stack = await startStack();
  try {
    const s = await started(stack);
    const typed = `${s.pair_token.slice(0, 4)}-${s.pair_token.slice(4)}`.toLowerCase()
      .replaceAll("0", "o").replaceAll("1", "l");
    const phone = await phoneOf(stack);
    const res = await invoke(phone.client, "pair-complete", completeBody(typed));
    assertEquals(res.status, 200, JSON.stringify(res.body));
  } finally {
    await stack.close();
  }
});

Deno.test("pair-complete answers a used, an expired and an unknown token alike, and writes nothing", async () => {
  const stack = await startStack();
  try {
    const used = await started(stack);
    const expired = await started(stack);
    const phone = await phoneOf(stack);
    assertEquals(
      (await invoke(phone.client, "pair-complete", completeBody(used.pair_token))).status,
      200,
    );
    await stack.sql`update private.pair_tokens set expires_at = now() - interval '1 second'
                    where workspace_id = ${expired.workspace_id}`;
    const devices = await count(stack, "public.devices");
    const links = await count(stack, "public.workspace_devices");
    const events = await count(stack, "public.events");

    const answers = [];
    for (const token of [used.pair_token, expired.pair_token, "ZZZZZZZZ", "not a token"]) {
      const res = await invoke(phone.client, "pair-complete", completeBody(token));
      assertEquals(res.status, 404, token);
      answers.push(res.body);
    }
    assertEquals(answers[0].error.code, "not_found");
    for (const a of answers) assertEquals(a, answers[0]);
    // another user gets the same answer for the used token
    const other = await phoneOf(stack);
    assertEquals(
      (await invoke(other.client, "pair-complete", completeBody(used.pair_token))).body,
      answers[0],
    );

    assertEquals(await count(stack, "public.devices"), devices);
    assertEquals(await count(stack, "public.workspace_devices"), links);
    assertEquals(await count(stack, "public.events"), events);
  } finally {
    await stack.close();
  }
});

Deno.test("pair-complete counts wrong tokens against the user's rate limit, so guessing is capped", async () => {
  const stack = await startStack({ env: { RATE_LIMIT_PAIR_COMPLETE_PER_MINUTE: "3" } });
  try {
    const s = await started(stack);
    const phone = await phoneOf(stack);
    await clearOfRateWindowEdge();
    for (let i = 0; i < 3; i++) {
      const res = await invoke(phone.client, "pair-complete", completeBody(`WRONG00${i}`));
      assertEquals(res.status, 404);
    }
    // the limit is reached: even the right token is refused now, with Retry-After
    const { error } = await phone.client.functions.invoke("pair-complete", {
      body: completeBody(s.pair_token),
    });
    assert(error instanceof FunctionsHttpError);
    const res = error.context as Response;
    assertEquals(res.status, 429);
    const retryAfter = Number(res.headers.get("retry-after"));
    assert(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
    assertEquals((await res.json()).error.code, "rate_limited");
    const [token] = await stack.sql`select used_at from private.pair_tokens`;
    assertEquals(token.used_at, null, "the refused request used nothing");

    // another user is not limited by the first one's guesses
    const other = await phoneOf(stack);
    assertEquals(
      (await invoke(other.client, "pair-complete", completeBody(s.pair_token))).status,
      200,
    );
  } finally {
    await stack.close();
  }
});

Deno.test("pair-complete refuses forged, expired and wrong-audience tokens with 401 and writes nothing", async () => {
  const stack = await startStack();
  try {
    const s = await started(stack);
    const userId = crypto.randomUUID();
    const tokens: [string, string][] = [
      ["forged", await mintUserToken(userId, { secret: "x".repeat(40) })],
      ["expired", await mintUserToken(userId, { expiresIn: Math.floor(Date.now() / 1000) - 10 })],
      ["wrong audience", await mintUserToken(userId, { audience: "anon" })],
    ];
    for (const [what, token] of tokens) {
      const res = await invoke(
        phoneClient(stack, token),
        "pair-complete",
        completeBody(s.pair_token),
      );
      assertEquals(res.status, 401, what);
      assertEquals(res.body.error.code, "unauthorized", what);
    }
    assertEquals(await count(stack, "public.devices"), 0);
    const hits = await stack.sql`select * from private.rate_limits
                                 where bucket like 'pair_complete:%'`;
    assertEquals(hits.length, 0, "an unauthenticated request counts against no user");
    const [token] = await stack.sql`select used_at from private.pair_tokens`;
    assertEquals(token.used_at, null);
  } finally {
    await stack.close();
  }
});

Deno.test("pair-complete refuses another user's device_id as not_found and keeps the token", async () => {
  const stack = await startStack();
  try {
    const s = await started(stack);
    const stranger = await randomDevice(stack.sql);
    const phone = await phoneOf(stack);
    const theft = await invoke(
      phone.client,
      "pair-complete",
      completeBody(s.pair_token, { device_id: stranger.deviceId }),
    );
    assertEquals(theft.status, 404);
    assertEquals(theft.body.error.code, "not_found");
    const missing = await invoke(
      phone.client,
      "pair-complete",
      completeBody(s.pair_token, { device_id: crypto.randomUUID() }),
    );
    assertEquals(missing.status, 404);
    assertEquals(missing.body, theft.body);
    // the device is checked first: the answer says nothing about the token
    const probe = await invoke(
      phone.client,
      "pair-complete",
      completeBody("ZZZZZZZZ", { device_id: stranger.deviceId }),
    );
    assertEquals(probe.body, theft.body);
    assertEquals(await count(stack, "public.workspace_devices"), 0);
    const [stored] = await stack.sql`select push_token from public.devices
                                     where id = ${stranger.deviceId}`;
    assertMatch(stored.push_token, /^tok-/, "the stranger's device is untouched");
    // the token still works for the rightful phone
    const ok = await invoke(phone.client, "pair-complete", completeBody(s.pair_token));
    assertEquals(ok.status, 200);
  } finally {
    await stack.close();
  }
});

Deno.test("one device serves several workspaces and one workspace has several devices", async () => {
  const stack = await startStack();
  try {
    const first = await started(stack);
    const second = await started(stack);
    const phone = await phoneOf(stack);
    const a = await invoke(phone.client, "pair-complete", completeBody(first.pair_token));
    const b = await invoke(
      phone.client,
      "pair-complete",
      completeBody(second.pair_token, { device_id: a.body.device_id, device_name: "Renamed" }),
    );
    assertEquals(b.status, 200);
    assertEquals(b.body.device_id, a.body.device_id, "the device is reused, not duplicated");
    assertEquals(await count(stack, "public.devices"), 1);
    const [device] = await stack.sql`select device_name from public.devices`;
    assertEquals(device.device_name, "Renamed");

    // a tablet of the same user joins the first workspace (a new pair-start, signed with
    // its secret: a new token)
    const again = await started(stack, {
      ...machine(),
      machine_id: (await stack.sql`select machine_id from private.workspace_keys
                                  where workspace_id = ${first.workspace_id}`)[0].machine_id,
      workspace_fingerprint: (await stack.sql`select project_fingerprint from private.workspace_keys
                                  where workspace_id = ${first.workspace_id}`)[0]
        .project_fingerprint,
    }, creds(first));
    assertEquals(again.workspace_id, first.workspace_id);
    const tablet = await invoke(
      phone.client,
      "pair-complete",
      completeBody(again.pair_token, { platform: "android", push_provider: "fcm" }),
    );
    assertEquals(tablet.status, 200);
    const status = await pairStatus(stack, creds(again));
    assertEquals(
      status.body.devices.map((d: Json) => d.device_id),
      [a.body.device_id, tablet.body.device_id],
    );
  } finally {
    await stack.close();
  }
});

Deno.test("re-pairing the same machine and project, signed with the current secret, keeps the workspace and its history and kills the old secret", async () => {
  const stack = await startStack();
  try {
    const ids = machine();
    const first = await started(stack, ids);
    const phone = await phoneOf(stack);
    assertEquals(
      (await invoke(phone.client, "pair-complete", completeBody(first.pair_token))).status,
      200,
    );
    const unused = await started(stack, ids, creds(first)); // a token nobody redeemed…
    const second = await started(
      stack,
      { ...ids, display_name: "renamed project" },
      creds(unused),
    );
    assertEquals(second.workspace_id, first.workspace_id);
    assertNotEquals(second.bridge_secret, first.bridge_secret);
    assertNotEquals(second.pair_token, first.pair_token);
    const [ws] = await stack.sql`select k.secret_version, w.display_name
      from public.workspaces w join private.workspace_keys k on k.workspace_id = w.id`;
    assertEquals(ws.secret_version, 3);
    assertEquals(ws.display_name, "renamed project");
    assertEquals(await count(stack, "public.workspaces"), 1);

    // the old secrets are dead, the new one works
    for (const old of [first, unused]) {
      const res = await pairStatus(stack, creds(old));
      assertEquals(res.status, 401);
      assertEquals(res.body.error.code, "unauthorized");
    }
    const now = await pairStatus(stack, creds(second));
    assertEquals(now.status, 200);
    assertEquals(now.body.paired, true, "the paired phone stays paired");
    // …is dead too
    const late = await invoke(phone.client, "pair-complete", completeBody(unused.pair_token));
    assertEquals(late.status, 404);
    // history is kept
    assertEquals(await count(stack, "public.events"), 1);
  } finally {
    await stack.close();
  }
});

Deno.test("pair-start is rate-limited per client IP: the hop a trusted proxy appended, never the client's", async () => {
  const stack = await startStack({
    env: { RATE_LIMIT_PAIR_START_PER_MINUTE: "2", CLIENT_IP_HEADER: "x-forwarded-for" },
  });
  try {
    // what the client sent, then the address the (one trusted) proxy appended
    const from = (ip: string) => ({ "x-forwarded-for": `${crypto.randomUUID()}, ${ip}` });
    await clearOfRateWindowEdge();
    assertEquals((await pairStart(stack, machine(), from("203.0.113.7"))).status, 201);
    assertEquals((await pairStart(stack, machine(), from("203.0.113.7"))).status, 201);
    const refused = await pairStart(stack, machine(), from("203.0.113.7"));
    assertEquals(refused.status, 429);
    assertEquals(refused.body.error.code, "rate_limited");
    assert(Number(refused.headers.get("retry-after")) >= 1);
    assertEquals(await count(stack, "public.workspaces"), 2, "the refused one wrote nothing");
    assertEquals((await pairStart(stack, machine(), from("198.51.100.9"))).status, 201);
  } finally {
    await stack.close();
  }
});

Deno.test("12 pair-starts from one socket with forged, varying x-forwarded-for hops get at most 10 through", async () => {
  const stack = await startStack(); // the default: the socket's peer is the client
  try {
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      const forged = { "x-forwarded-for": `203.0.113.${i}, 198.51.100.${i}` };
      statuses.push((await pairStart(stack, machine(), forged)).status);
    }
    assertEquals(statuses.filter((s) => s === 201).length, 10, statuses.join(" "));
    assertEquals(statuses.filter((s) => s === 429).length, 2, statuses.join(" "));
    assertEquals(await count(stack, "public.workspaces"), 10);
  } finally {
    await stack.close();
  }
});

Deno.test("pair-start refuses malformed bodies with 400 and writes nothing", async () => {
  const stack = await startStack();
  try {
    const bad: Json[] = [
      {},
      { ...machine(), display_name: "" },
      { ...machine(), display_name: "x".repeat(101) },
      { ...machine(), machine_id: "x".repeat(201) },
      { ...machine(), workspace_fingerprint: 42 },
      { ...machine(), extra: true },
      [],
    ];
    for (const body of bad) {
      const res = await pairStart(stack, body);
      assertEquals(res.status, 400, JSON.stringify(body));
      assertEquals(res.body.error.code, "invalid_request");
    }
    const notJson = await fetchJson(`${stack.functionsUrl}/pair-start`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{not json",
    });
    assertEquals(notJson.status, 400);
    assertEquals(notJson.body.error.code, "invalid_json");
    const sqlish = await pairStart(stack, {
      machine_id: "'; drop table public.workspaces; --",
      workspace_fingerprint: "ü∂ 🚀",
      display_name: "Robert'); --",
    });
    assertEquals(sqlish.status, 201);
    assertEquals(await count(stack, "public.workspaces"), 1);
  } finally {
    await stack.close();
  }
});

Deno.test("pair-complete refuses malformed bodies with 400 and writes nothing", async () => {
  const stack = await startStack();
  try {
    const s = await started(stack);
    const phone = await phoneOf(stack);
    const bad: Json[] = [
      {},
      completeBody(s.pair_token, { platform: "windows" }),
      completeBody(s.pair_token, { push_provider: "sms" }),
      completeBody(s.pair_token, { device_id: "not-a-uuid" }),
      completeBody(s.pair_token, { push_token: "" }),
      completeBody(s.pair_token, { unknown: 1 }),
    ];
    for (const body of bad) {
      const res = await invoke(phone.client, "pair-complete", body);
      assertEquals(res.status, 400, JSON.stringify(body));
      assertEquals(res.body.error.code, "invalid_request");
    }
    assertEquals(await count(stack, "public.devices"), 0);
    const [token] = await stack.sql`select used_at from private.pair_tokens`;
    assertEquals(token.used_at, null);
  } finally {
    await stack.close();
  }
});

Deno.test("the phone pairs with a token signed by the project's JWKS (served on loopback), beside HS256", async () => {
  const signing = await jose.generateKeyPair("ES256", { extractable: true });
  const stranger = await jose.generateKeyPair("ES256", { extractable: true });
  const kid = crypto.randomUUID();
  const jwk = { ...(await jose.exportJWK(signing.publicKey)), kid, alg: "ES256", use: "sig" };
  let fetches = 0;
  const auth = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    if (new URL(req.url).pathname !== "/auth/v1/.well-known/jwks.json") {
      return new Response("not found", { status: 404 });
    }
    fetches++;
    return Response.json({ keys: [jwk] });
  });
  const supabaseUrl = `http://127.0.0.1:${auth.addr.port}`;
  const stack = await startStack({ env: { SUPABASE_URL: supabaseUrl } });
  try {
    const es256 = (userId: string, key: CryptoKey) =>
      new jose.SignJWT({ role: "authenticated", is_anonymous: true })
        .setProtectedHeader({ alg: "ES256", kid, typ: "JWT" })
        .setSubject(userId)
        .setAudience("authenticated")
        .setIssuer(`${supabaseUrl}/auth/v1`)
        .setIssuedAt()
        .setExpirationTime("1h")
        .sign(key);
    const userId = crypto.randomUUID();
    const phone = phoneClient(stack, await es256(userId, signing.privateKey));
    const s = await started(stack);
    const res = await invoke(phone, "pair-complete", completeBody(s.pair_token));
    assertEquals(res.status, 200, JSON.stringify(res.body));
    const [device] = await stack.sql`select user_id from public.devices`;
    assertEquals(device.user_id, userId);
    const again = await invoke(phone, "mobile-device", {
      device_id: res.body.device_id,
      device_name: "via JWKS",
    });
    assertEquals(again.status, 200);
    assertEquals(fetches, 1, "the key set was fetched once and cached");

    const forged = phoneClient(stack, await es256(userId, stranger.privateKey));
    const refused = await invoke(forged, "mobile-device", { device_id: res.body.device_id });
    assertEquals(refused.status, 401);

    const legacy = phoneClient(
      stack,
      await mintUserToken(userId, { issuer: `${supabaseUrl}/auth/v1` }),
    );
    assertEquals(
      (await invoke(legacy, "mobile-device", { device_id: res.body.device_id })).status,
      200,
    );
  } finally {
    await stack.close();
    await auth.shutdown();
  }
});

Deno.test("20 phones racing for one pair token: exactly one pairs, the others get not_found", async () => {
  const stack = await startStack();
  try {
    const s = await started(stack);
    const phones = await Promise.all(Array.from({ length: 20 }, () => phoneOf(stack)));
    const results = await Promise.all(
      phones.map((p) => invoke(p.client, "pair-complete", completeBody(s.pair_token))),
    );
    const statuses = results.map((r) => r.status).sort();
    assertEquals(statuses, [200, ...Array(19).fill(404)]);
    assertEquals(await count(stack, "public.workspace_devices"), 1);
    assertEquals(await count(stack, "public.devices"), 1);
    const events = await stack.sql`select seq from public.events order by seq`;
    assertEquals(events.map((e) => e.seq), [1]);
  } finally {
    await stack.close();
  }
});

Deno.test("a re-pair racing a redemption of the same workspace's token never ends in a 5xx", async () => {
  const stack = await startStack({ env: { RATE_LIMIT_PAIR_START_PER_MINUTE: "100" } });
  try {
    const ids = machine();
    const phone = await phoneOf(stack);
    for (let i = 0; i < 8; i++) {
      const s = await started(stack, ids);
      const [restart, redeem] = await Promise.all([
        pairStart(stack, ids),
        invoke(phone.client, "pair-complete", completeBody(s.pair_token)),
      ]);
      assertEquals(restart.status, 201);
      assert([200, 404].includes(redeem.status), `redeem answered ${redeem.status}`);
    }
  } finally {
    await stack.close();
  }
});
