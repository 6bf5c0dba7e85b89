// APNs sender (token auth): POST {APNS_ENDPOINT or by APNS_ENV}/3/device/<token> through
// fetch (HTTP/2 with Apple over TLS; a plain http:// test endpoint speaks HTTP/1.1), with an
// ES256 provider token {iss: team id, iat} + kid, reused for 50 minutes; and the
// classification of APNs' answers ({reason, timestamp}).
import { loadJose } from "./jose.ts";
import { apnsHeaders, apnsPayload } from "./push_message.ts";
import type { Logger } from "./logger.ts";
import {
  parseRetryAfter,
  type PushJob,
  type PushOutcome,
  type PushSender,
  readJson,
} from "./push_types.ts";

export const APNS_PRODUCTION = "https://api.push.apple.com";
export const APNS_SANDBOX = "https://api.sandbox.push.apple.com";
/** Apple accepts a provider token for an hour and refuses refreshes more often than every
 * 20 minutes; 50 minutes sits safely between. */
const PROVIDER_TOKEN_REUSE_MS = 50 * 60_000;

interface ApnsCredentials {
  privateKey: string;
  keyId: string;
  teamId: string;
  bundleId: string;
}

interface ApnsSenderOptions extends ApnsCredentials {
  /** base URL, e.g. https://api.push.apple.com */
  endpoint: string;
  environment: "production" | "sandbox";
  fetch: typeof fetch;
  log: Logger;
  now?: () => number;
}

interface ApnsSender extends PushSender {
  providerToken(): Promise<string>;
}

/** APNs' `timestamp` is milliseconds since the epoch (seconds accepted too). */
function unregisteredAt(timestamp: unknown): string | undefined {
  const n = typeof timestamp === "string" ? Number(timestamp) : timestamp;
  if (typeof n !== "number" || !Number.isFinite(n) || n <= 0) return undefined;
  return new Date(n < 1e11 ? n * 1000 : n).toISOString();
}

/** Turns an APNs answer into an outcome (ExpiredProviderToken is handled by the caller). */
export function classifyApnsResponse(
  status: number,
  body: unknown,
  headers: Headers,
  token: string,
  environment: "production" | "sandbox" = "production",
): PushOutcome {
  if (status === 200) {
    return {
      result: "sent",
      provider: "apns",
      http_status: status,
      provider_message_id: headers.get("apns-id") ?? undefined,
    };
  }
  const b = (body ?? {}) as { reason?: string; timestamp?: unknown };
  const reason = b.reason ?? `HTTP ${status}`;
  const base = {
    provider: "apns" as const,
    http_status: status,
    error: `APNs ${status} ${reason}`,
    reason,
  };
  const retryAfter = parseRetryAfter(headers.get("retry-after"));
  if (status === 410) {
    return { ...base, result: "dead_token", token, unregistered_at: unregisteredAt(b.timestamp) };
  }
  switch (reason) {
    case "BadDeviceToken":
      return {
        ...base,
        error: `${base.error}: often a sandbox/production mismatch (APNS_ENV=${environment}; ` +
          `a development build's token only works with sandbox, a TestFlight/App Store ` +
          `build's only with production); the token is kept`,
        result: "config_error",
        retryable: false,
      };
    case "DeviceTokenNotForTopic":
      return {
        ...base,
        error: `${base.error}: the token belongs to another app than APNS_BUNDLE_ID`,
        result: "config_error",
        retryable: false,
      };
    case "TooManyProviderTokenUpdates":
      return {
        ...base,
        error: `${base.error}: the provider-token cache is wrong (tokens are refreshed ` +
          `more often than every 20 minutes)`,
        result: "retry",
        retry_after: retryAfter,
      };
    case "InvalidProviderToken":
    case "MissingProviderToken":
    case "BadTopic":
    case "MissingTopic":
    case "TopicDisallowed":
    case "BadCertificate":
    case "BadCertificateEnvironment":
    case "Forbidden":
      return { ...base, result: "config_error", retryable: true };
  }
  if (status === 429 || status >= 500) return { ...base, result: "retry", retry_after: retryAfter };
  if (status === 403) return { ...base, result: "config_error", retryable: true };
  return { ...base, result: "rejected" };
}

class ApnsKeyError extends Error {
  constructor() {
    super("APNS_PRIVATE_KEY cannot be read as a PKCS#8 EC P-256 key (the .p8 file)");
  }
}

export function createApnsSender(options: ApnsSenderOptions): ApnsSender {
  const { fetch: doFetch, log } = options;
  const now = options.now ?? (() => Date.now());
  const base = options.endpoint.replace(/\/+$/, "");
  let keyPromise: Promise<CryptoKey> | undefined;
  let cached: { jwt: string; issuedAt: number } | undefined;
  let inflight: Promise<string> | undefined;

  function loadKey(): Promise<CryptoKey> {
    keyPromise ??= loadJose().then((jose) =>
      jose.importPKCS8(options.privateKey, "ES256") as Promise<CryptoKey>
    ).catch(
      () => {
        keyPromise = undefined;
        throw new ApnsKeyError();
      },
    );
    return keyPromise;
  }

  async function sign(): Promise<string> {
    const key = await loadKey();
    const { SignJWT } = await loadJose();
    const issuedAt = now();
    const jwt = await new SignJWT({ iss: options.teamId, iat: Math.floor(issuedAt / 1000) })
      .setProtectedHeader({ alg: "ES256", kid: options.keyId })
      .sign(key);
    cached = { jwt, issuedAt };
    return jwt;
  }

  function providerToken(): Promise<string> {
    if (cached && now() - cached.issuedAt < PROVIDER_TOKEN_REUSE_MS) {
      return Promise.resolve(cached.jwt);
    }
    inflight ??= sign().finally(() => {
      inflight = undefined;
    });
    return inflight;
  }

  async function post(job: PushJob, signal: AbortSignal) {
    const jwt = await providerToken();
    const res = await doFetch(`${base}/3/device/${encodeURIComponent(job.token)}`, {
      method: "POST",
      headers: {
        authorization: `bearer ${jwt}`,
        "apns-topic": options.bundleId,
        ...apnsHeaders(job),
        "content-type": "application/json",
      },
      body: JSON.stringify(apnsPayload(job)),
      signal,
    });
    return { res, body: await readJson(res), jwt };
  }

  async function send(job: PushJob, signal: AbortSignal): Promise<PushOutcome> {
    try {
      return await sendOnce(job, signal);
    } catch (error) {
      if (!(error instanceof ApnsKeyError)) throw error;
      return {
        result: "config_error",
        retryable: true,
        provider: "apns",
        error: error.message,
      };
    }
  }

  async function sendOnce(job: PushJob, signal: AbortSignal): Promise<PushOutcome> {
    let { res, body, jwt } = await post(job, signal);
    if (res.status === 403 && (body as { reason?: string })?.reason === "ExpiredProviderToken") {
      const ageMin = cached ? Math.round((now() - cached.issuedAt) / 60_000) : 0;
      log.error(
        "APNs: ExpiredProviderToken: the provider-token cache is wrong; signing a new one",
        {
          provider: "apns",
          token_age_minutes: ageMin,
        },
      );
      if (cached?.jwt === jwt) cached = undefined;
      ({ res, body } = await post(job, signal));
    }
    return classifyApnsResponse(res.status, body, res.headers, job.token, options.environment);
  }

  return { name: "apns", send, providerToken };
}
