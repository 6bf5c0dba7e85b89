// FCM HTTP v1 sender: POST {FCM_ENDPOINT}/v1/projects/<project_id>/messages:send with an
// OAuth2 access token from the service account (RS256 JWT assertion signed with jose,
// exchanged at the account's token_uri, cached until 5 minutes before expiry, one
// exchange in flight at a time), and the classification of FCM's answers.
import type * as jose from "jose";
import { loadJose } from "./jose.ts";
import { fcmMessage } from "./push_message.ts";
import type { Logger } from "./logger.ts";
import {
  parseRetryAfter,
  type PushJob,
  type PushOutcome,
  type PushSender,
  readJson,
} from "./push_types.ts";

export const FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging";
const JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const REFRESH_MARGIN_MS = 5 * 60_000;

interface ServiceAccount {
  project_id: string;
  client_email: string;
  private_key: string;
  private_key_id?: string;
  token_uri: string;
}

/** Parses FCM_SERVICE_ACCOUNT_JSON, or throws an Error naming the variable and the field. */
export function parseServiceAccount(json: string): ServiceAccount {
  const fail = (why: string) =>
    new Error(`Invalid configuration: FCM_SERVICE_ACCOUNT_JSON: ${why}`);
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw fail("is not JSON (paste the service account key file's content on one line)");
  }
  if (typeof parsed !== "object" || parsed === null) throw fail("is not a JSON object");
  for (const field of ["project_id", "client_email", "private_key", "token_uri"]) {
    if (typeof parsed[field] !== "string" || !(parsed[field] as string).trim()) {
      throw fail(`has no ${field} (is it a service account key file?)`);
    }
  }
  try {
    new URL(parsed.token_uri as string);
  } catch {
    throw fail("token_uri is not a URL");
  }
  return {
    project_id: parsed.project_id as string,
    client_email: parsed.client_email as string,
    private_key: (parsed.private_key as string).replaceAll("\\n", "\n"),
    private_key_id: typeof parsed.private_key_id === "string" ? parsed.private_key_id : undefined,
    token_uri: parsed.token_uri as string,
  };
}

interface FcmErrorBody {
  error?: {
    code?: number;
    message?: string;
    status?: string;
    details?: Array<{
      "@type"?: string;
      errorCode?: string;
      fieldViolations?: Array<{ field?: string; description?: string }>;
    }>;
  };
}

/** Turns an FCM messages:send answer into an outcome (401 handled by the caller). */
export function classifyFcmResponse(
  status: number,
  body: unknown,
  headers: Headers,
  token: string,
): PushOutcome {
  if (status >= 200 && status < 300) {
    const name = (body as { name?: unknown } | undefined)?.name;
    return {
      result: "sent",
      provider: "fcm",
      http_status: status,
      provider_message_id: typeof name === "string" ? name : undefined,
    };
  }
  const err = (body as FcmErrorBody | undefined)?.error ?? {};
  const details = Array.isArray(err.details) ? err.details : [];
  const errorCode = details.find((d) => d?.["@type"]?.endsWith("google.firebase.fcm.v1.FcmError"))
    ?.errorCode;
  const code = errorCode ?? err.status ?? `HTTP ${status}`;
  const error = `FCM ${status} ${code}${err.message ? `: ${err.message}` : ""}`;
  const base = { provider: "fcm" as const, http_status: status, error, reason: code };
  const retryAfter = parseRetryAfter(headers.get("retry-after"));

  switch (errorCode) {
    case "UNREGISTERED":
      return { ...base, result: "dead_token", token };
    case "SENDER_ID_MISMATCH":
      // the token belongs to another Firebase project: our configuration, not the token
      return { ...base, result: "config_error", retryable: false };
    case "THIRD_PARTY_AUTH_ERROR":
      // the APNs key / certificate uploaded to Firebase is wrong or missing
      return { ...base, result: "config_error", retryable: true };
    case "QUOTA_EXCEEDED":
    case "UNAVAILABLE":
    case "INTERNAL":
      return { ...base, result: "retry", retry_after: retryAfter };
    case "INVALID_ARGUMENT": {
      const violations = details.flatMap((d) => d?.fieldViolations ?? []);
      if (violations.some((v) => v?.field && v.field !== "message.token")) {
        return { ...base, result: "rejected" };
      }
      return { ...base, result: "invalid_argument", token };
    }
  }
  if (status === 429 || status >= 500) return { ...base, result: "retry", retry_after: retryAfter };
  if (status === 400) {
    // INVALID_ARGUMENT without FcmError details: a malformed request (field violations)
    return { ...base, result: "rejected" };
  }
  if (status === 401 || status === 403 || status === 404) {
    // credentials, permissions or project id: fixing the configuration fixes the queue
    return { ...base, result: "config_error", retryable: true };
  }
  return { ...base, result: "rejected" };
}

interface FcmSenderOptions {
  serviceAccount: ServiceAccount;
  /** base URL, e.g. https://fcm.googleapis.com */
  endpoint: string;
  fetch: typeof fetch;
  log: Logger;
  now?: () => number;
}

interface FcmSender extends PushSender {
  /** an access token, exchanged when none is cached or it is within 5 min of expiry */
  accessToken(signal?: AbortSignal): Promise<string>;
}

class TokenExchangeError extends Error {
  constructor(message: string, readonly outcome: PushOutcome) {
    super(message);
  }
}

export function createFcmSender(options: FcmSenderOptions): FcmSender {
  const { serviceAccount: sa, fetch: doFetch, log } = options;
  const now = options.now ?? (() => Date.now());
  const sendUrl = `${options.endpoint.replace(/\/+$/, "")}/v1/projects/${
    encodeURIComponent(sa.project_id)
  }/messages:send`;
  let keyPromise: Promise<CryptoKey> | undefined;
  let cached: { token: string; expiresAt: number } | undefined;
  let inflight: Promise<string> | undefined;

  async function exchange(signal?: AbortSignal): Promise<string> {
    const { importPKCS8, SignJWT } = await loadJose();
    keyPromise ??= importPKCS8(sa.private_key, "RS256") as Promise<CryptoKey>;
    const key = await keyPromise.catch((error) => {
      keyPromise = undefined;
      throw new TokenExchangeError(`FCM service account private_key: ${error}`, {
        result: "config_error",
        retryable: true,
        provider: "fcm",
        error: "FCM_SERVICE_ACCOUNT_JSON private_key cannot be read as a PKCS#8 RSA key",
      });
    });
    const iat = Math.floor(now() / 1000);
    const header: jose.JWTHeaderParameters = { alg: "RS256", typ: "JWT" };
    if (sa.private_key_id) header.kid = sa.private_key_id;
    const assertion = await new SignJWT({ scope: FCM_SCOPE })
      .setProtectedHeader(header)
      .setIssuer(sa.client_email)
      .setAudience(sa.token_uri)
      .setIssuedAt(iat)
      .setExpirationTime(iat + 3600)
      .sign(key);
    const res = await doFetch(sa.token_uri, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: JWT_BEARER, assertion }).toString(),
      signal,
    });
    const body = await readJson(res) as
      | { access_token?: string; expires_in?: number; error?: string; error_description?: string }
      | undefined;
    if (!res.ok || !body?.access_token) {
      const why = `${body?.error ?? `HTTP ${res.status}`}${
        body?.error_description ? `: ${body.error_description}` : ""
      }`;
      const transient = res.status === 429 || res.status >= 500;
      throw new TokenExchangeError(
        `FCM token exchange failed: ${why}`,
        transient
          ? {
            result: "retry",
            provider: "fcm",
            http_status: res.status,
            error: `token exchange: ${why}`,
            retry_after: parseRetryAfter(res.headers.get("retry-after")),
          }
          : {
            result: "config_error",
            retryable: true,
            provider: "fcm",
            http_status: res.status,
            error: `token exchange refused (check FCM_SERVICE_ACCOUNT_JSON): ${why}`,
          },
      );
    }
    const lifetimeMs = (Number(body.expires_in) || 3600) * 1000;
    cached = { token: body.access_token, expiresAt: now() + lifetimeMs };
    return body.access_token;
  }

  function accessToken(signal?: AbortSignal): Promise<string> {
    if (cached && now() < cached.expiresAt - REFRESH_MARGIN_MS) {
      return Promise.resolve(cached.token);
    }
    inflight ??= exchange(signal).finally(() => {
      inflight = undefined;
    });
    return inflight;
  }

  async function post(job: PushJob, signal: AbortSignal) {
    const token = await accessToken(signal);
    const res = await doFetch(sendUrl, {
      method: "POST",
      headers: {
        authorization: `Bearer ${token}`,
        "content-type": "application/json; charset=utf-8",
      },
      body: JSON.stringify({ message: fcmMessage(job, now()) }),
      signal,
    });
    return { res, body: await readJson(res), usedToken: token };
  }

  async function send(job: PushJob, signal: AbortSignal): Promise<PushOutcome> {
    try {
      let { res, body, usedToken } = await post(job, signal);
      const fcmError = (body as FcmErrorBody | undefined)?.error?.details?.some((d) =>
        d?.errorCode
      );
      if (res.status === 401 && !fcmError) {
        // our access token was refused (revoked, or the cache is wrong): exchange once more
        log.warn("FCM refused the cached access token; exchanging a new one", {
          provider: "fcm",
        });
        if (cached?.token === usedToken) cached = undefined;
        ({ res, body } = await post(job, signal));
      }
      return classifyFcmResponse(res.status, body, res.headers, job.token);
    } catch (error) {
      if (error instanceof TokenExchangeError) return error.outcome;
      throw error;
    }
  }

  return { name: "fcm", send, accessToken };
}
