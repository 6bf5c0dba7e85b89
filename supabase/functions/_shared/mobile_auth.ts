// Verifies a Supabase Auth access token (docs/contract/security.md#mobile-authentication) with
// jose: the project's JWKS (SUPABASE_JWKS when the runtime injects it, else fetched from
// ${SUPABASE_URL}/auth/v1/.well-known/jwks.json, cached, refetched on an unknown kid) and,
// when SUPABASE_JWT_SECRET is set, the legacy HS256 secret. The token's alg picks the path,
// so a JWKS that cannot be fetched never breaks HS256 tokens.
import type { JWTPayload, JWTVerifyGetKey, ProtectedHeaderParameters } from "jose";
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

/** Builds a verifier; the JWKS is fetched lazily and cached per isolate. */
export function createMobileVerifier(options: MobileAuthOptions): MobileVerifier {
  const base = options.supabaseUrl.replace(/\/+$/, "");
  const issuer = `${base}/auth/v1`;
  const secret = options.jwtSecret ? new TextEncoder().encode(options.jwtSecret) : undefined;
  // Imported once: handed the raw bytes, jose imports them as a CryptoKey on every token
  // (~0.1 ms of each mobile request, bench/FINDINGS.md).
  let hmacKey: Promise<CryptoKey> | undefined;
  let keys: JWTVerifyGetKey | undefined;

  async function verify(
    jose: typeof Jose,
    token: string,
    alg: string | undefined,
  ): Promise<JWTPayload> {
    if (alg === "HS256") {
      if (!secret) throw new Error("HS256 tokens need SUPABASE_JWT_SECRET");
      hmacKey ??= crypto.subtle.importKey("raw", secret, { name: "HMAC", hash: "SHA-256" }, false, [
        "verify",
      ]);
      const { payload } = await jose.jwtVerify(token, await hmacKey, {
        algorithms: ["HS256"],
        audience: "authenticated",
        requiredClaims: ["exp", "sub"],
      });
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
      payload = await verify(jose, token, header.alg);
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
