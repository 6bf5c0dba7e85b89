// Web Push sender (the third provider): the payload encrypted `aes128gcm` for the browser's
// subscription (RFC 8291: ECDH P-256 + HKDF-SHA-256 + AES-128-GCM, all Web Crypto), a VAPID
// JWT (RFC 8292, ES256 signed with jose from the raw VAPID keys) per push-service origin,
// TTL / Urgency / Topic headers (RFC 8030), and the classification of the push service's
// answers (404/410: the subscription is gone).
import { loadJose } from "./jose.ts";
import type { Logger } from "./logger.ts";
import {
  parseRetryAfter,
  type PushJob,
  type PushOutcome,
  type PushSender,
  readJson,
} from "./push_types.ts";
import { fromBase64Url, parseSubscription, toBase64Url } from "@shared/push_subscription.ts";

/** One record of 4096 bytes: the header (86) and the tag (16) and delimiter leave this. */
const MAX_PLAINTEXT_BYTES = 4096 - 86 - 16 - 1;
const RECORD_SIZE = 4096;
/** VAPID JWTs live 12 h (RFC 8292 allows up to 24 h) and are reused until 1 h before. */
const JWT_LIFETIME_S = 12 * 3600;
const JWT_REUSE_MARGIN_S = 3600;
/** a notification with no expiry is kept by the push service for as long as we retry */
const DEFAULT_TTL_S = 24 * 3600;

const encoder = new TextEncoder();

/** Exported for the loopback push service of the tests, which decrypts with it. */
export function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

export async function hkdf(
  salt: Uint8Array<ArrayBuffer>,
  ikm: Uint8Array<ArrayBuffer>,
  info: Uint8Array<ArrayBuffer>,
  length: number,
): Promise<Uint8Array<ArrayBuffer>> {
  const key = await crypto.subtle.importKey("raw", ikm, "HKDF", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits(
    { name: "HKDF", hash: "SHA-256", salt, info },
    key,
    length * 8,
  );
  return new Uint8Array(bits);
}

interface EncryptOptions {
  /** 16 random bytes unless given (tests) */
  salt?: Uint8Array<ArrayBuffer>;
  /** the application server's ephemeral ECDH key pair; fresh for every message unless given */
  localKeys?: CryptoKeyPair;
}

/** RFC 8291 / RFC 8188: one aes128gcm record for the subscription's keys (p256dh: the
 * browser's 65-byte public key, auth: its 16-byte secret). */
export async function encryptAes128gcm(
  plaintext: Uint8Array,
  subscriber: { p256dh: Uint8Array<ArrayBuffer>; auth: Uint8Array<ArrayBuffer> },
  options: EncryptOptions = {},
): Promise<Uint8Array<ArrayBuffer>> {
  if (plaintext.length > MAX_PLAINTEXT_BYTES) {
    throw new RangeError(
      `Cannot encrypt the Web Push payload: ${plaintext.length} bytes (at most ${MAX_PLAINTEXT_BYTES})`,
    );
  }
  const local = options.localKeys ??
    await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, [
      "deriveBits",
    ]) as CryptoKeyPair;
  const asPublic = new Uint8Array(await crypto.subtle.exportKey("raw", local.publicKey));
  const uaPublicKey = await crypto.subtle.importKey(
    "raw",
    subscriber.p256dh,
    { name: "ECDH", namedCurve: "P-256" },
    false,
    [],
  );
  const ecdhSecret = new Uint8Array(
    await crypto.subtle.deriveBits({ name: "ECDH", public: uaPublicKey }, local.privateKey, 256),
  );
  // IKM = HKDF(auth_secret, ecdh_secret, "WebPush: info" || 0x00 || ua_public || as_public, 32)
  const ikm = await hkdf(
    subscriber.auth,
    ecdhSecret,
    concat(encoder.encode("WebPush: info\0"), subscriber.p256dh, asPublic),
    32,
  );
  const salt = options.salt ?? crypto.getRandomValues(new Uint8Array(16));
  const cek = await hkdf(salt, ikm, encoder.encode("Content-Encoding: aes128gcm\0"), 16);
  const nonce = await hkdf(salt, ikm, encoder.encode("Content-Encoding: nonce\0"), 12);
  const key = await crypto.subtle.importKey("raw", cek, "AES-GCM", false, ["encrypt"]);
  // the last (and only) record ends with the delimiter 0x02, no padding
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: "AES-GCM", iv: nonce },
      key,
      concat(plaintext, new Uint8Array([2])),
    ),
  );
  const header = new Uint8Array(16 + 4 + 1 + asPublic.length);
  header.set(salt, 0);
  new DataView(header.buffer).setUint32(16, RECORD_SIZE);
  header[20] = asPublic.length;
  header.set(asPublic, 21);
  return concat(header, sealed);
}

interface VapidKeys {
  /** base64url of the uncompressed P-256 public key (65 bytes), as web-push tools print it */
  publicKey: string;
  /** base64url of the private scalar (32 bytes) */
  privateKey: string;
  /** mailto: or https: contact for the push service */
  subject: string;
}

/** Checks the VAPID variables, or throws an Error naming the bad one. */
export function checkVapidKeys(keys: VapidKeys): void {
  const fail = (name: string, why: string) => new Error(`Invalid configuration: ${name}: ${why}`);
  const pub = fromBase64Url(keys.publicKey);
  if (!pub || pub.length !== 65 || pub[0] !== 4) {
    throw fail(
      "VAPID_PUBLIC_KEY",
      "must be the base64url uncompressed P-256 public key (65 bytes, e.g. from `npx web-push generate-vapid-keys`)",
    );
  }
  const priv = fromBase64Url(keys.privateKey);
  if (!priv || priv.length !== 32) {
    throw fail("VAPID_PRIVATE_KEY", "must be the base64url P-256 private key (32 bytes)");
  }
  if (!/^(mailto:|https:\/\/)/.test(keys.subject)) {
    throw fail("VAPID_SUBJECT", "must be a mailto: or https: URL (RFC 8292 contact)");
  }
}

/** The VAPID private key as a CryptoKey for ES256 (a JWK built from the raw keys). */
async function importVapidPrivateKey(keys: VapidKeys): Promise<CryptoKey> {
  const pub = fromBase64Url(keys.publicKey)!;
  return await crypto.subtle.importKey(
    "jwk",
    {
      kty: "EC",
      crv: "P-256",
      x: toBase64Url(pub.slice(1, 33)),
      y: toBase64Url(pub.slice(33, 65)),
      d: keys.privateKey.replace(/=+$/, "").replaceAll("+", "-").replaceAll("/", "_"),
      ext: false,
    },
    { name: "ECDSA", namedCurve: "P-256" },
    false,
    ["sign"],
  );
}

/** What the push service receives (decrypted by the service worker). */
function webPushPayload(job: PushJob): Record<string, unknown> {
  const m = job.message;
  const payload: Record<string, unknown> = { data: m.data ?? {} };
  if (m.silent) payload.silent = true;
  if (m.title !== undefined) payload.title = m.title;
  if (m.body !== undefined) payload.body = m.body;
  if (m.collapse_id) payload.tag = m.collapse_id;
  if (m.category) payload.category = m.category;
  if (m.time_sensitive) payload.time_sensitive = true;
  return payload;
}

/** TTL, Urgency and Topic (RFC 8030) for a job. */
export function webPushHeaders(job: PushJob, nowMs: number): Record<string, string> {
  const m = job.message;
  let ttl = DEFAULT_TTL_S;
  if (job.expires_at) {
    const at = Date.parse(job.expires_at);
    if (!Number.isNaN(at)) ttl = Math.max(0, Math.floor((at - nowMs) / 1000));
  }
  const headers: Record<string, string> = {
    ttl: String(ttl),
    urgency: m.priority === "high" || m.silent || job.kind !== "run" ? "high" : "normal",
  };
  // a Topic replaces an undelivered message with the same one: ≤ 32 base64url characters
  const topic = m.collapse_id?.replace(/[^A-Za-z0-9_]/g, "").slice(0, 32);
  if (topic) headers.topic = topic;
  return headers;
}

/** Turns a push service's answer into an outcome. */
export function classifyWebPushResponse(
  status: number,
  body: unknown,
  headers: Headers,
  token: string,
): PushOutcome {
  const detail = typeof body === "object" && body !== null
    ? String(
      (body as Record<string, unknown>).message ?? (body as Record<string, unknown>).reason ?? "",
    )
    : "";
  const error = `Web Push ${status}${detail ? `: ${detail}` : ""}`;
  const base = { provider: "webpush" as const, http_status: status, error };
  if (status >= 200 && status < 300) {
    return {
      result: "sent",
      provider: "webpush",
      http_status: status,
      provider_message_id: headers.get("location") ?? undefined,
    };
  }
  if (status === 404 || status === 410) {
    // the subscription expired or the user revoked it
    return { ...base, result: "dead_token", token, reason: status === 410 ? "Gone" : "NotFound" };
  }
  if (status === 429 || status >= 500) {
    return { ...base, result: "retry", retry_after: parseRetryAfter(headers.get("retry-after")) };
  }
  if (status === 401 || status === 403) {
    // the VAPID JWT was refused, or the subscription was made for another applicationServerKey
    return { ...base, result: "config_error", retryable: true, reason: "vapid" };
  }
  return { ...base, result: "rejected" };
}

interface WebPushSenderOptions extends VapidKeys {
  fetch: typeof fetch;
  log: Logger;
  now?: () => number;
}

interface WebPushSender extends PushSender {
  /** the VAPID JWT for a push service origin (cached per origin) */
  vapidJwt(audience: string): Promise<string>;
}

export function createWebPushSender(options: WebPushSenderOptions): WebPushSender {
  checkVapidKeys(options);
  const { fetch: doFetch } = options;
  const now = options.now ?? (() => Date.now());
  let keyPromise: Promise<CryptoKey> | undefined;
  const jwts = new Map<string, { jwt: string; exp: number }>();

  async function vapidJwt(audience: string): Promise<string> {
    const nowS = Math.floor(now() / 1000);
    const cached = jwts.get(audience);
    if (cached && cached.exp - JWT_REUSE_MARGIN_S > nowS) return cached.jwt;
    keyPromise ??= importVapidPrivateKey(options);
    const key = await keyPromise;
    const { SignJWT } = await loadJose();
    const exp = nowS + JWT_LIFETIME_S;
    const jwt = await new SignJWT({})
      .setProtectedHeader({ alg: "ES256", typ: "JWT" })
      .setAudience(audience)
      .setExpirationTime(exp)
      .setSubject(options.subject)
      .sign(key);
    if (jwts.size > 1000) jwts.clear();
    jwts.set(audience, { jwt, exp });
    return jwt;
  }

  async function send(job: PushJob, signal: AbortSignal): Promise<PushOutcome> {
    const subscription = parseSubscription(job.token);
    if (!subscription) {
      return {
        result: "rejected",
        provider: "webpush",
        error: "the device's push token is not a valid PushSubscription",
      };
    }
    const plaintext = encoder.encode(JSON.stringify(webPushPayload(job)));
    if (plaintext.length > MAX_PLAINTEXT_BYTES) {
      return {
        result: "rejected",
        provider: "webpush",
        error: `payload of ${plaintext.length} bytes exceeds Web Push's ${MAX_PLAINTEXT_BYTES}`,
      };
    }
    const body = await encryptAes128gcm(plaintext, {
      p256dh: fromBase64Url(subscription.keys.p256dh)!,
      auth: fromBase64Url(subscription.keys.auth)!,
    });
    const endpoint = new URL(subscription.endpoint);
    const jwt = await vapidJwt(endpoint.origin);
    const res = await doFetch(endpoint, {
      method: "POST",
      headers: {
        ...webPushHeaders(job, now()),
        authorization: `vapid t=${jwt}, k=${options.publicKey.replace(/=+$/, "")}`,
        "content-encoding": "aes128gcm",
        "content-type": "application/octet-stream",
      },
      body,
      signal,
      redirect: "manual",
    });
    return classifyWebPushResponse(res.status, await readJson(res), res.headers, job.token);
  }

  return { name: "webpush", send, vapidJwt };
}
