// Verifies a Supabase Auth access token (SPEC section 4, mobile authentication) with
// jose: the project's JWKS (SUPABASE_JWKS or fetched, cached, refetched on an unknown kid)
// and, when SUPABASE_JWT_SECRET is set, the legacy HS256 secret.
import * as jose from "jose";
import { HttpError } from "./http_error.ts";

export interface MobileUser {
  id: string;
  claims: jose.JWTPayload;
}

export interface MobileAuthOptions {
  supabaseUrl: string;
  jwtSecret?: string;
  jwks?: string;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export type MobileVerifier = (authorization: string | null) => Promise<MobileUser>;

/** Builds a verifier; JWKS is fetched lazily and cached per isolate by jose. */
export function createMobileVerifier(options: MobileAuthOptions): MobileVerifier {
  const base = options.supabaseUrl.replace(/\/+$/, "");
  const issuer = `${base}/auth/v1`;
  const secret = options.jwtSecret ? new TextEncoder().encode(options.jwtSecret) : undefined;
  let keySet: jose.JWTVerifyGetKey | undefined;
  const getKeySet = () => {
    if (!keySet) {
      keySet = options.jwks
        ? jose.createLocalJWKSet(JSON.parse(options.jwks))
        : jose.createRemoteJWKSet(new URL(`${issuer}/.well-known/jwks.json`), {
          cacheMaxAge: 10 * 60_000,
          cooldownDuration: 30_000,
          timeoutDuration: 5_000,
        });
    }
    return keySet;
  };

  return async function verifyMobile(authorization) {
    if (!authorization) {
      throw new HttpError("unauthorized", "Unauthorized: missing Authorization header");
    }
    const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
    if (!match) {
      throw new HttpError("unauthorized", "Unauthorized: Authorization must be 'Bearer <token>'");
    }
    const token = match[1];
    let header: jose.ProtectedHeaderParameters;
    try {
      header = jose.decodeProtectedHeader(token);
    } catch {
      throw new HttpError("unauthorized", "Unauthorized: the token is not a JWT");
    }
    let payload: jose.JWTPayload;
    try {
      if (header.alg === "HS256") {
        if (!secret) throw new Error("HS256 tokens need SUPABASE_JWT_SECRET");
        ({ payload } = await jose.jwtVerify(token, secret, {
          algorithms: ["HS256"],
          audience: "authenticated",
          requiredClaims: ["exp", "sub"],
        }));
        // Legacy tokens minted by tools may omit iss; when present it must be ours.
        if (payload.iss !== undefined && payload.iss !== issuer) {
          throw new Error(`unexpected iss ${payload.iss}`);
        }
      } else {
        ({ payload } = await jose.jwtVerify(token, getKeySet(), {
          algorithms: ["RS256", "ES256", "EdDSA", "PS256"],
          audience: "authenticated",
          issuer,
          requiredClaims: ["exp", "sub"],
        }));
      }
    } catch (error) {
      const reason = error instanceof jose.errors.JWTExpired
        ? "the token has expired"
        : error instanceof jose.errors.JWTClaimValidationFailed
        ? `claim ${error.claim} is not valid`
        : "the token could not be verified";
      throw new HttpError("unauthorized", `Unauthorized: ${reason}`);
    }
    if (typeof payload.sub !== "string" || !UUID_RE.test(payload.sub)) {
      throw new HttpError("unauthorized", "Unauthorized: the token's sub is not a user id");
    }
    return { id: payload.sub.toLowerCase(), claims: payload };
  };
}
