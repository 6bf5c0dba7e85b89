import * as jose from "jose";
import { assert, assertEquals, assertMatch } from "../../../tests/_helpers/assert.ts";
import { createMobileVerifier, type MobileVerifier } from "./mobile_auth.ts";
import { HttpError } from "./http_error.ts";

const SECRET = "super-secret-jwt-token-with-at-least-32-characters-long";
const USER = "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f";

interface SigningKey {
  kid: string;
  alg: "ES256" | "RS256";
  privateKey: CryptoKey;
  jwk: jose.JWK;
}

async function signingKey(
  alg: "ES256" | "RS256",
  kid: string = crypto.randomUUID(),
): Promise<SigningKey> {
  const { privateKey, publicKey } = await jose.generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await jose.exportJWK(publicKey)), kid, alg, use: "sig" };
  return { kid, alg, privateKey, jwk };
}

/** A JWKS served on loopback as Supabase Auth serves it; counts fetches; keys can change. */
function jwksServer(initial: SigningKey[]) {
  let keys = initial;
  let fetches = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    if (new URL(req.url).pathname !== "/auth/v1/.well-known/jwks.json") {
      return new Response("not found", { status: 404 });
    }
    fetches++;
    return Response.json({ keys: keys.map((k) => k.jwk) });
  });
  const url = `http://127.0.0.1:${server.addr.port}`;
  return {
    url,
    get fetches() {
      return fetches;
    },
    setKeys(next: SigningKey[]) {
      keys = next;
    },
    close: () => server.shutdown(),
  };
}

function asymmetricToken(
  key: SigningKey,
  issuer: string,
  options: { sub?: string; aud?: string; exp?: string | number; kid?: string } = {},
): Promise<string> {
  return new jose.SignJWT({ role: "authenticated" })
    .setProtectedHeader({ alg: key.alg, kid: options.kid ?? key.kid, typ: "JWT" })
    .setSubject(options.sub ?? USER)
    .setAudience(options.aud ?? "authenticated")
    .setIssuer(issuer)
    .setIssuedAt()
    .setExpirationTime(options.exp ?? "1h")
    .sign(key.privateKey);
}

function hs256Token(
  options: { secret?: string; sub?: string; aud?: string; exp?: string | number; iss?: string } =
    {},
): Promise<string> {
  const jwt = new jose.SignJWT({ role: "authenticated" })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setAudience(options.aud ?? "authenticated")
    .setIssuedAt()
    .setExpirationTime(options.exp ?? "1h");
  if (options.sub !== "") jwt.setSubject(options.sub ?? USER);
  if (options.iss) jwt.setIssuer(options.iss);
  return jwt.sign(new TextEncoder().encode(options.secret ?? SECRET));
}

async function refusal(verify: MobileVerifier, authorization: string | null): Promise<HttpError> {
  try {
    await verify(authorization);
  } catch (error) {
    assert(error instanceof HttpError, `expected an HttpError, got ${error}`);
    return error;
  }
  throw new Error("expected the token to be refused");
}

/** A port nothing listens on. */
function closedPortUrl(): string {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return `http://127.0.0.1:${port}`;
}

Deno.test("createMobileVerifier() accepts an HS256 token signed with SUPABASE_JWT_SECRET", async () => {
  const verify = createMobileVerifier({ supabaseUrl: closedPortUrl(), jwtSecret: SECRET });
  const user = await verify(`Bearer ${await hs256Token()}`);
  assertEquals(user.id, USER);
  assertEquals(user.claims.role, "authenticated");
});

Deno.test("createMobileVerifier() refuses forged, expired, wrong-audience and subjectless HS256 tokens", async () => {
  const supabaseUrl = "http://127.0.0.1:54321";
  const verify = createMobileVerifier({ supabaseUrl, jwtSecret: SECRET });
  const cases: [string, string, RegExp][] = [
    ["forged", await hs256Token({ secret: "not-the-secret-not-the-secret-not-the" }), /verified/],
    ["expired", await hs256Token({ exp: Math.floor(Date.now() / 1000) - 60 }), /expired/],
    ["wrong audience", await hs256Token({ aud: "anon" }), /claim aud/],
    ["no subject", await hs256Token({ sub: "" }), /sub|verified/],
    ["sub not a uuid", await hs256Token({ sub: "service" }), /sub/],
    ["foreign issuer", await hs256Token({ iss: "https://evil.example/auth/v1" }), /claim iss/],
  ];
  for (const [what, token, message] of cases) {
    const error = await refusal(verify, `Bearer ${token}`);
    assertEquals(error.code, "unauthorized", what);
    assertMatch(error.message, message, what);
  }
  const good = await verify(`Bearer ${await hs256Token({ iss: `${supabaseUrl}/auth/v1` })}`);
  assertEquals(good.id, USER);
});

Deno.test("createMobileVerifier() refuses HS256 tokens altered after signing, with a crit header or not yet valid", async () => {
  const verify = createMobileVerifier({ supabaseUrl: closedPortUrl(), jwtSecret: SECRET });
  const [head, body, sig] = (await hs256Token()).split(".");
  const other = (await hs256Token({ sub: "0b7c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f" })).split(".")[1];
  const key = new TextEncoder().encode(SECRET);
  const withCrit = await new jose.SignJWT({ role: "authenticated" })
    .setProtectedHeader({ alg: "HS256", crit: ["x-agentops"], "x-agentops": 1 })
    .setSubject(USER).setAudience("authenticated").setExpirationTime("1h").sign(key, {
      crit: { "x-agentops": true },
    });
  const notYet = await new jose.SignJWT({ role: "authenticated" })
    .setProtectedHeader({ alg: "HS256" }).setSubject(USER).setAudience("authenticated")
    .setNotBefore("10m").setExpirationTime("1h").sign(key);
  const cases: [string, string, RegExp][] = [
    ["another payload under the signature", `${head}.${other}.${sig}`, /verified/],
    ["signature cut short", `${head}.${body}.${sig.slice(0, -4)}`, /verified/],
    ["signature not base64url", `${head}.${body}.${sig.slice(0, -2)}*!`, /verified/],
    ["no signature", `${head}.${body}.`, /verified/],
    ["a fourth part", `${head}.${body}.${sig}.${sig}`, /JWT|verified/],
    ["crit header", withCrit, /verified/],
    ["not before in the future", notYet, /claim nbf/],
  ];
  for (const [what, token, message] of cases) {
    const error = await refusal(verify, `Bearer ${token}`);
    assertEquals(error.code, "unauthorized", what);
    assertMatch(error.message, message, what);
  }
  assertEquals((await verify(`Bearer ${head}.${body}.${sig}`)).id, USER);
});

Deno.test("createMobileVerifier() refuses a missing header, a non-bearer header, garbage and alg none", async () => {
  const verify = createMobileVerifier({ supabaseUrl: closedPortUrl(), jwtSecret: SECRET });
  const unsigned = new jose.UnsecuredJWT({ sub: USER, role: "authenticated" })
    .setAudience("authenticated").setExpirationTime("1h").encode();
  for (
    const header of [null, "", "Basic abc", "Bearer", "Bearer not-a-jwt", `Bearer ${unsigned}`]
  ) {
    const error = await refusal(verify, header);
    assertEquals(error.code, "unauthorized", String(header));
    assertEquals(error.status, 401);
  }
});

Deno.test("createMobileVerifier() refuses HS256 tokens when no legacy secret is configured", async () => {
  const verify = createMobileVerifier({ supabaseUrl: closedPortUrl() });
  const error = await refusal(verify, `Bearer ${await hs256Token()}`);
  assertEquals(error.code, "unauthorized");
});

Deno.test("createMobileVerifier() verifies ES256 and RS256 tokens against the JWKS fetched from the project, once", async () => {
  const es = await signingKey("ES256");
  const rs = await signingKey("RS256");
  const jwks = jwksServer([es, rs]);
  try {
    const issuer = `${jwks.url}/auth/v1`;
    const verify = createMobileVerifier({ supabaseUrl: jwks.url, jwtSecret: SECRET });
    assertEquals((await verify(`Bearer ${await asymmetricToken(es, issuer)}`)).id, USER);
    assertEquals((await verify(`Bearer ${await asymmetricToken(rs, issuer)}`)).id, USER);
    assertEquals((await verify(`Bearer ${await asymmetricToken(es, issuer)}`)).id, USER);
    assertEquals(jwks.fetches, 1, "the key set is cached");
    // HS256 still works beside it
    assertEquals((await verify(`Bearer ${await hs256Token()}`)).id, USER);
  } finally {
    await jwks.close();
  }
});

Deno.test("createMobileVerifier() refuses JWKS tokens that are forged, expired, for another audience or issuer", async () => {
  const key = await signingKey("ES256");
  const stranger = await signingKey("ES256", key.kid); // same kid, other key pair
  const jwks = jwksServer([key]);
  try {
    const issuer = `${jwks.url}/auth/v1`;
    const verify = createMobileVerifier({ supabaseUrl: jwks.url, jwtSecret: SECRET });
    const cases: [string, string][] = [
      ["forged", await asymmetricToken(stranger, issuer)],
      ["expired", await asymmetricToken(key, issuer, { exp: Math.floor(Date.now() / 1000) - 5 })],
      ["wrong audience", await asymmetricToken(key, issuer, { aud: "service_role" })],
      ["wrong issuer", await asymmetricToken(key, "https://other.supabase.co/auth/v1")],
    ];
    for (const [what, token] of cases) {
      const error = await refusal(verify, `Bearer ${token}`);
      assertEquals(error.code, "unauthorized", what);
    }
  } finally {
    await jwks.close();
  }
});

Deno.test("createMobileVerifier() refetches the JWKS when a token names an unknown kid", async () => {
  const first = await signingKey("ES256");
  const rotated = await signingKey("ES256");
  const jwks = jwksServer([first]);
  try {
    const issuer = `${jwks.url}/auth/v1`;
    const verify = createMobileVerifier({ supabaseUrl: jwks.url, jwksCooldownMs: 0 });
    await verify(`Bearer ${await asymmetricToken(first, issuer)}`);
    assertEquals(jwks.fetches, 1);
    jwks.setKeys([first, rotated]);
    assertEquals((await verify(`Bearer ${await asymmetricToken(rotated, issuer)}`)).id, USER);
    assertEquals(jwks.fetches, 2, "the unknown kid caused one refetch");
    await verify(`Bearer ${await asymmetricToken(rotated, issuer)}`);
    assertEquals(jwks.fetches, 2, "and the new set is cached");
    // a kid the Auth server does not know either is refused
    const error = await refusal(
      verify,
      `Bearer ${await asymmetricToken(first, issuer, { kid: "no-such-kid" })}`,
    );
    assertEquals(error.code, "unauthorized");
  } finally {
    await jwks.close();
  }
});

Deno.test("createMobileVerifier() uses an injected SUPABASE_JWKS without fetching, and fetches for a kid it lacks", async () => {
  const injected = await signingKey("ES256");
  const rotated = await signingKey("RS256");
  const jwks = jwksServer([injected, rotated]);
  try {
    const issuer = `${jwks.url}/auth/v1`;
    for (const raw of [JSON.stringify({ keys: [injected.jwk] }), JSON.stringify([injected.jwk])]) {
      const verify = createMobileVerifier({ supabaseUrl: jwks.url, jwks: raw });
      assertEquals((await verify(`Bearer ${await asymmetricToken(injected, issuer)}`)).id, USER);
    }
    assertEquals(jwks.fetches, 0);
    const verify = createMobileVerifier({
      supabaseUrl: jwks.url,
      jwks: JSON.stringify({ keys: [injected.jwk] }),
    });
    assertEquals((await verify(`Bearer ${await asymmetricToken(rotated, issuer)}`)).id, USER);
    assertEquals(jwks.fetches, 1);
  } finally {
    await jwks.close();
  }
});

Deno.test("createMobileVerifier() keeps verifying HS256 tokens when the JWKS cannot be fetched", async () => {
  const key = await signingKey("ES256");
  const supabaseUrl = closedPortUrl(); // like the local stack: no Auth server
  const verify = createMobileVerifier({ supabaseUrl, jwtSecret: SECRET });
  const error = await refusal(
    verify,
    `Bearer ${await asymmetricToken(key, `${supabaseUrl}/auth/v1`)}`,
  );
  assertEquals(error.code, "unauthorized", "an unverifiable token is 401, never a 5xx");
  assertMatch(error.message, /signing keys could not be fetched/);
  assertEquals((await verify(`Bearer ${await hs256Token()}`)).id, USER);
});

Deno.test("createMobileVerifier() answers 401 when the JWKS endpoint answers garbage", async () => {
  const key = await signingKey("ES256");
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response("<html>oops</html>", { status: 200 }),
  );
  try {
    const url = `http://127.0.0.1:${server.addr.port}`;
    const verify = createMobileVerifier({ supabaseUrl: url, jwtSecret: SECRET });
    const error = await refusal(verify, `Bearer ${await asymmetricToken(key, `${url}/auth/v1`)}`);
    assertEquals(error.code, "unauthorized");
    assertEquals((await verify(`Bearer ${await hs256Token()}`)).id, USER);
  } finally {
    await server.shutdown();
  }
});
