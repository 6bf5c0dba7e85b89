// POST /dev-sign-in (issue 18, docs/web-api.md): on the local stack a Supabase-shaped session
// whose token every mobile endpoint accepts; everywhere else it does not exist (404 like a
// path with no function), and each condition that keeps it off is proven here.
import * as v from "valibot";
import { assert, assertEquals } from "./_helpers/assert.ts";
import { fetchJson, type Stack, TEST_JWT_SECRET, withStack } from "./_helpers/stack.ts";
import { machine, startPairing } from "./_helpers/pairing.ts";
import { loadConfig } from "../supabase/functions/_shared/config.ts";
import {
  devSignInRefusal,
  LOCAL_JWT_SECRET,
} from "../supabase/functions/_shared/endpoints/dev_sign_in.ts";
import { DevSignInResponse } from "../shared/api_schemas.ts";

function signIn(stack: Stack, body: unknown = {}, headers: Record<string, string> = {}) {
  return fetchJson(`${stack.functionsUrl}/dev-sign-in`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

/** What a path with no function answers, with this path in the message. */
async function noFunction(stack: Stack, method: string, path: string) {
  const res = await fetch(`${stack.functionsUrl}${path}`, { method });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
}

Deno.test("dev-sign-in on the local stack: a session whose token pairs and reads like a Supabase access token", async () => {
  assertEquals(TEST_JWT_SECRET, LOCAL_JWT_SECRET, "the test stack runs on the local default");
  await withStack({ AGENTOPS_DEV_SIGN_IN: "1" }, async (stack) => {
    const res = await signIn(stack);
    assertEquals(res.status, 200, JSON.stringify(res.body));
    const session = v.parse(DevSignInResponse, res.body);
    assertEquals([session.token_type, session.expires_in], ["bearer", 3600]);
    assert(Math.abs(session.expires_at - (Date.now() / 1000 + 3600)) < 600);
    assertEquals(res.headers.get("access-control-allow-origin"), "*");
    const auth = { authorization: `Bearer ${session.access_token}` };

    // Pair a workspace with it, then read it back.
    const started = await startPairing(stack, { ...machine(), display_name: "web app" });
    const paired = await fetchJson(`${stack.functionsUrl}/pair-complete`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      // a browser that has not subscribed to Web Push pairs without a push token
      body: JSON.stringify({ pair_token: started.pair_token, platform: "web" }),
    });
    assertEquals(paired.status, 200, JSON.stringify(paired.body));
    const [device] = await stack.sql`select user_id from public.devices
                                     where id = ${paired.body.device_id}`;
    assertEquals(device.user_id, session.user.id);
    const workspaces = await fetchJson(`${stack.functionsUrl}/mobile-workspaces`, {
      headers: auth,
    });
    assertEquals(workspaces.body.workspaces.map((w: { project_name: string }) => w.project_name), [
      "web app",
    ]);
    assertEquals(workspaces.body.devices[0].has_push_token, false);
    // only a browser may: a phone without a push token is refused, and nothing is paired
    const phone = await startPairing(stack);
    const refused = await fetchJson(`${stack.functionsUrl}/pair-complete`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ pair_token: phone.pair_token, platform: "android" }),
    });
    assertEquals([refused.status, refused.body.error.details[0].path], [400, "push_token"]);

    // Signing in again as the same user keeps the user; a new sign-in is a new user.
    const again = await signIn(stack, { user_id: session.user.id });
    assertEquals(again.body.user.id, session.user.id);
    const fresh = await signIn(stack);
    assert(fresh.body.user.id !== session.user.id);

    const preflight = await fetch(`${stack.functionsUrl}/dev-sign-in`, { method: "OPTIONS" });
    await preflight.body?.cancel();
    assertEquals(preflight.status, 204);
    for (const body of [{ user_id: "not-a-uuid" }, { user_id: crypto.randomUUID(), role: "x" }]) {
      const bad = await signIn(stack, body);
      assertEquals([bad.status, bad.body.error.code], [400, "invalid_request"]);
    }
  });
});

Deno.test("dev-sign-in without AGENTOPS_DEV_SIGN_IN, or through a proxy, answers like a path with no function", async () => {
  await withStack({}, async (stack) => {
    const unknown = await noFunction(stack, "POST", "/no-such-function");
    for (const method of ["POST", "GET", "OPTIONS", "DELETE"]) {
      const res = await noFunction(stack, method, "/dev-sign-in");
      assertEquals(res.status, 404, method);
      // a browser's preflight reads the 404 (the app says "no dev sign-in", not "offline")
      assertEquals(res.headers.get("access-control-allow-origin"), "*", method);
      assertEquals(res.body.error.code, unknown.body.error.code);
      assertEquals(
        res.body.error.message,
        unknown.body.error.message.replace("/no-such-function", "/dev-sign-in"),
      );
    }
  });
  await withStack({ AGENTOPS_DEV_SIGN_IN: "1" }, async (stack) => {
    for (
      const header of ["x-forwarded-for", "forwarded", "x-real-ip", "cf-connecting-ip"]
    ) {
      const res = await signIn(stack, {}, { [header]: "127.0.0.1" });
      assertEquals([res.status, res.body.error.code], [404, "not_found"], header);
    }
  });
});

Deno.test("devSignInRefusal() keeps dev-sign-in off unless the flag, the local secret, no JWKS, loopback URL and caller, and no proxy all hold", () => {
  const base = {
    HMAC_SECRET: "x".repeat(32),
    DATABASE_URL: "postgresql://127.0.0.1/x",
    SUPABASE_URL: "http://127.0.0.1:54321",
    SUPABASE_JWT_SECRET: LOCAL_JWT_SECRET,
    AGENTOPS_DEV_SIGN_IN: "1",
  };
  const req = new Request("http://127.0.0.1:54321/functions/v1/dev-sign-in", { method: "POST" });
  const loopback = { hostname: "127.0.0.1", port: 5000, transport: "tcp" };
  assertEquals(devSignInRefusal(loadConfig(base), req, loopback), null);
  assertEquals(devSignInRefusal(loadConfig(base), req, { hostname: "::1" }), null);

  const refused: Array<[string, Record<string, string>, unknown, Request?]> = [
    ["flag unset", { AGENTOPS_DEV_SIGN_IN: "" }, loopback],
    ["flag 0", { AGENTOPS_DEV_SIGN_IN: "0" }, loopback],
    ["another JWT secret", { SUPABASE_JWT_SECRET: "a-real-projects-secret-".repeat(3) }, loopback],
    ["no JWT secret", { SUPABASE_JWT_SECRET: "" }, loopback],
    ["a JWKS", { SUPABASE_JWKS: '{"keys": []}' }, loopback],
    ["a hosted URL", { SUPABASE_URL: "https://abc.supabase.co" }, loopback],
    ["a proxy header configured", { CLIENT_IP_HEADER: "cf-connecting-ip" }, loopback],
    ["a LAN caller", {}, { hostname: "192.168.1.20" }],
    ["a public caller", {}, { hostname: "203.0.113.7" }],
    ["an unknown caller", {}, undefined],
    [
      "a forwarded request",
      {},
      loopback,
      new Request(req.url, { method: "POST", headers: { "x-forwarded-for": "203.0.113.7" } }),
    ],
  ];
  for (const [label, env, peer, request] of refused) {
    const reason = devSignInRefusal(loadConfig({ ...base, ...env }), request ?? req, peer);
    assert(reason !== null, `${label} must keep it off`);
  }

  // In Supabase's edge runtime it is off whatever the settings say.
  const g = globalThis as { EdgeRuntime?: unknown };
  g.EdgeRuntime = {};
  try {
    assert(devSignInRefusal(loadConfig(base), req, loopback) !== null, "edge runtime");
  } finally {
    delete g.EdgeRuntime;
  }
});
