// Verifies a Supabase Auth access token (docs/contract/security.md#mobile-authentication) with
// jose: the project's JWKS (SUPABASE_JWKS when the runtime injects it, else fetched from
// ${SUPABASE_URL}/auth/v1/.well-known/jwks.json, cached, refetched on an unknown kid) and,
// when SUPABASE_JWT_SECRET is set, the legacy HS256 secret. The token's alg picks the path,
// so a JWKS that cannot be fetched never breaks HS256 tokens.
import type { JWTPayload, JWTVerifyGetKey, ProtectedHeaderParameters } from "jose";
import type * as NodeCrypto from "node:crypto";
import { type Jose, loadJose } from "./jose.ts";
import { HttpError } from "./http_error.ts";
import type { Logger } from "./logger.ts";

export interface MobileUser {
  id: string;
  claims: JWTPayload;
}

interface MobileAuthOptions {
  supabaseUrl: string;
  jwtSecret?: string;
  /** the JWKS JSON ({"keys": […]} or a bare array), as the runtime injects it */
  jwks?: string;
  log?: Logger;
  /** least time between two fetches caused by unknown kids (jose's cooldown; default 30 s) */
  jwksCooldownMs?: number;
  /** how long a fetched JWKS is used before it is fetched again (default 10 min) */
  jwksMaxAgeMs?: number;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ASYMMETRIC_ALGS = ["RS256", "ES256", "EdDSA", "PS256", "RS384", "ES384", "RS512", "PS384"];

export type MobileVerifier = (authorization: string | null) => Promise<MobileUser>;

/** The injected JWKS as a key resolver, or undefined when it is absent or not a key set. */
function injectedKeySet(jose: typeof Jose, raw: string | undefined, log?: Logger) {
  if (!raw) return undefined;
  try {
    const parsed = JSON.parse(raw);
    const keys = Array.isArray(parsed) ? parsed : parsed?.keys;
    if (Array.isArray(keys)) return jose.createLocalJWKSet({ keys });
  } catch { /* reported below */ }
  log?.error("SUPABASE_JWKS is not a JSON Web Key Set of public keys; fetching the JWKS instead");
  return undefined;
}

/** The key resolver: the injected set first; the remote set for anything it lacks. */
function createKeyResolver(
  jose: typeof Jose,
  options: MobileAuthOptions,
  issuer: string,
): JWTVerifyGetKey {
  const local = injectedKeySet(jose, options.jwks, options.log);
  const remote = jose.createRemoteJWKSet(new URL(`${issuer}/.well-known/jwks.json`), {
    cacheMaxAge: options.jwksMaxAgeMs ?? 10 * 60_000,
    cooldownDuration: options.jwksCooldownMs ?? 30_000,
    timeoutDuration: 5_000,
  });
  return async (header, token) => {
    if (local) {
      try {
        return await local(header, token);
      } catch (error) {
        if (!(error instanceof jose.errors.JWKSNoMatchingKey)) throw error;
        // a key rotated in after the isolate started: ask the Auth server
      }
    }
    return await remote(header, token);
  };
}

/** Whether jose failed to obtain the key set (network, timeout, non-200, bad JSON). */
function isKeySetUnavailable(jose: typeof Jose, error: unknown): boolean {
  if (error instanceof jose.errors.JWKSTimeout || error instanceof jose.errors.JWKSInvalid) {
    return true;
  }
  if (error instanceof jose.errors.JOSEError) {
    return error.code === "ERR_JOSE_GENERIC" && /JSON Web Key Set/.test(error.message);
  }
  return error instanceof TypeError; // fetch: connection refused, DNS
}

// HS256 is checked with node:crypto's synchronous HMAC, jose's own claim checks then run on the
// verified payload: jose (WebCrypto) hands every verify to a thread and back, ~0.24 ms of the
// main thread per token under the decision bench (--cpu-prof), as signing.ts found for the
// bridge. node:crypto is loaded on the first HS256 token; postgres.js loads it anyway.
let nodeCrypto: Promise<typeof NodeCrypto> | undefined;
/** base64url of {"alg":"none"}: the verified payload handed to jose's claim checks */
const UNSECURED_HEADER = "eyJhbGciOiJub25lIn0";

async function verifyHs256(
  jose: typeof Jose,
  token: string,
  header: ProtectedHeaderParameters,
  secret: Uint8Array,
): Promise<JWTPayload> {
  const { createHmac, timingSafeEqual } = await (nodeCrypto ??= import("node:crypto"));
  const parts = token.split(".");
  // jose refuses any crit (b64: false among them) it is not told about: so do we
  if (parts.length !== 3 || header.crit !== undefined) throw new jose.errors.JWSInvalid();
  const expected = createHmac("sha256", secret).update(`${parts[0]}.${parts[1]}`).digest();
  let given: Uint8Array;
  try {
    given = jose.base64url.decode(parts[2]);
  } catch {
    throw new jose.errors.JWSInvalid();
  }
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new jose.errors.JWSSignatureVerificationFailed();
  }
  const { payload } = jose.UnsecuredJWT.decode(`${UNSECURED_HEADER}.${parts[1]}.`, {
    audience: "authenticated",
    requiredClaims: ["exp", "sub"],
  });
  return payload;
}

/** Builds a verifier; the JWKS is fetched lazily and cached per isolate. */
export function createMobileVerifier(options: MobileAuthOptions): MobileVerifier {
  const base = options.supabaseUrl.replace(/\/+$/, "");
  const issuer = `${base}/auth/v1`;
  const secret = options.jwtSecret ? new TextEncoder().encode(options.jwtSecret) : undefined;
  let keys: JWTVerifyGetKey | undefined;

  async function verify(
    jose: typeof Jose,
    token: string,
    header: ProtectedHeaderParameters,
  ): Promise<JWTPayload> {
    if (header.alg === "HS256") {
      if (!secret) throw new Error("HS256 tokens need SUPABASE_JWT_SECRET");
      const payload = await verifyHs256(jose, token, header, secret);
      // Legacy tokens minted by tools may omit iss; when present it must be ours.
      if (payload.iss !== undefined && payload.iss !== issuer) {
        throw new jose.errors.JWTClaimValidationFailed("unexpected iss", payload, "iss");
      }
      return payload;
    }
    keys ??= createKeyResolver(jose, options, issuer);
    const { payload } = await jose.jwtVerify(token, keys, {
      algorithms: ASYMMETRIC_ALGS,
      audience: "authenticated",
      issuer,
      requiredClaims: ["exp", "sub"],
    });
    return payload;
  }

  return async function verifyMobile(authorization) {
    if (!authorization) {
      throw new HttpError("unauthorized", "Unauthorized: missing Authorization header");
    }
    const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
    if (!match) {
      throw new HttpError("unauthorized", "Unauthorized: Authorization must be 'Bearer <token>'");
    }
    const token = match[1];
    const jose = await loadJose();
    let header: ProtectedHeaderParameters;
    try {
      header = jose.decodeProtectedHeader(token);
    } catch {
      throw new HttpError("unauthorized", "Unauthorized: the token is not a JWT");
    }
    let payload: JWTPayload;
    try {
      payload = await verify(jose, token, header);
    } catch (error) {
      let reason = "the token could not be verified";
      if (error instanceof jose.errors.JWTExpired) reason = "the token has expired";
      else if (error instanceof jose.errors.JWTClaimValidationFailed) {
        reason = `claim ${error.claim} is not valid`;
      } else if (isKeySetUnavailable(jose, error)) {
        // 401, not 503: the phone retries with a fresh token; and a forged token must never
        // turn into a 5xx.
        options.log?.warn("cannot fetch the Auth JWKS", {
          url: `${issuer}/.well-known/jwks.json`,
          error: error instanceof Error ? error.message : String(error),
        });
        reason = "the signing keys could not be fetched";
      }
      throw new HttpError("unauthorized", `Unauthorized: ${reason}`);
    }
    if (typeof payload.sub !== "string" || !UUID_RE.test(payload.sub)) {
      throw new HttpError("unauthorized", "Unauthorized: the token's sub is not a user id");
    }
    return { id: payload.sub.toLowerCase(), claims: payload };
  };
}
