// dev-sign-in (issue 18, docs/web-api.md): the local stack has no Auth server, so the web
// app signs in here: a session shaped like Supabase Auth's whose access token every mobile
// endpoint accepts like a real one (HS256 with SUPABASE_JWT_SECRET). It exists only where it
// cannot matter: every condition of devSignInRefusal() must pass, else it answers exactly
// what a path with no function answers (404). It has no function folder, so
// `supabase functions deploy` never ships it; only the local server and the tests mount it.
import * as jose from "jose";
import type { Config } from "../config.ts";
import { defineEndpoint, type Endpoint, jsonResponse } from "../endpoint.ts";
import { noFunctionResponse } from "../router.ts";
import { isLoopbackHost } from "@shared/loopback.ts";

/** The Supabase CLI's local JWT secret (`supabase start`, `npm run dev`): public knowledge,
 * so a token it signs is worth nothing on any real project. */
export const LOCAL_JWT_SECRET = "super-secret-jwt-token-with-at-least-32-characters-long";
const DEV_SESSION_SECONDS = 3600;
const FORWARDING_HEADERS = ["forwarded", "x-forwarded-for", "x-real-ip", "cf-connecting-ip"];

declare const EdgeRuntime: unknown;

/** Why dev-sign-in is off for this request, or null when every condition holds. */
export function devSignInRefusal(
  config: Config,
  req: Request,
  remoteAddr: unknown,
): string | null {
  if (!config.AGENTOPS_DEV_SIGN_IN) return "AGENTOPS_DEV_SIGN_IN is not set";
  if (config.SUPABASE_JWT_SECRET !== LOCAL_JWT_SECRET) {
    return "SUPABASE_JWT_SECRET is not the local default";
  }
  if (config.SUPABASE_JWKS) return "a JWKS is configured";
  if (typeof EdgeRuntime !== "undefined") return "running in the edge runtime";
  if (!isLoopbackHost(new URL(config.SUPABASE_URL).hostname)) return "SUPABASE_URL is not loopback";
  if (config.CLIENT_IP_HEADER) return "CLIENT_IP_HEADER is set (a proxy in front)";
  if (!isLoopbackHost((remoteAddr as { hostname?: string } | undefined)?.hostname)) {
    return "the caller is not on loopback";
  }
  const forwarded = FORWARDING_HEADERS.find((h) => req.headers.has(h));
  if (forwarded) return `the request came through a proxy (${forwarded})`;
  return null;
}

const devSignInEndpoint = defineEndpoint({
  name: "dev-sign-in",
  method: "POST",
  auth: "none",
  summary: "Local stack only: a Supabase-shaped session for a dev user",
  description:
    "404 (as if it did not exist) unless AGENTOPS_DEV_SIGN_IN=1, the JWT secret is the Supabase CLI's local default, no JWKS is configured, SUPABASE_URL is loopback and the caller is on loopback with no forwarding header. Never deployed (no function folder). docs/web-api.md.",
  status: 200,
  response: "DevSignInResponse",
  errors: ["not_found"],
  cors: true,
  body: "DevSignInRequest",
  async handle(ctx, deps) {
    const userId = ctx.body.user_id ?? crypto.randomUUID();
    const issuedAt = Math.floor(deps.now() / 1000);
    const expiresAt = issuedAt + DEV_SESSION_SECONDS;
    const accessToken = await new jose.SignJWT({
      role: "authenticated",
      is_anonymous: true,
      aal: "aal1",
      session_id: crypto.randomUUID(),
    })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setSubject(userId)
      .setAudience("authenticated")
      .setIssuer(`${deps.config.SUPABASE_URL.replace(/\/+$/, "")}/auth/v1`)
      .setIssuedAt(issuedAt)
      .setExpirationTime(expiresAt)
      .sign(new TextEncoder().encode(deps.config.SUPABASE_JWT_SECRET));
    return jsonResponse({
      access_token: accessToken,
      token_type: "bearer",
      expires_in: DEV_SESSION_SECONDS,
      expires_at: expiresAt,
      user: { id: userId, aud: "authenticated", role: "authenticated", is_anonymous: true },
    });
  },
});

export const devSignIn: Endpoint = {
  ...devSignInEndpoint,
  handler(req, deps, info) {
    const refusal = devSignInRefusal(deps.config, req, info?.remoteAddr);
    if (refusal) {
      deps.log.debug("dev-sign-in is off", { reason: refusal });
      return Promise.resolve(noFunctionResponse(req));
    }
    return devSignInEndpoint.handler(req, deps, info);
  },
};
