// The browser's PushSubscription (the push token of a `webpush` device), as
// `JSON.stringify(subscription)` gives it: {endpoint, expirationTime?, keys: {p256dh, auth}}.
// Shared by the API schema (validated when a device registers) and the Web Push sender.

interface PushSubscriptionJson {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

/** base64url (padding and the standard alphabet tolerated) → bytes, or undefined. */
export function fromBase64Url(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (!/^[A-Za-z0-9_\-+/]*={0,2}$/.test(text)) return undefined;
  const b64 = text.replaceAll("-", "+").replaceAll("_", "/").replace(/=+$/, "");
  try {
    const binary = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
    const out = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
    return out;
  } catch {
    return undefined;
  }
}

export function toBase64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** Why `token` is not a usable PushSubscription JSON, or undefined when it is. The endpoint
 * must be https (plain http only on loopback, for local push services and tests); p256dh an
 * uncompressed P-256 point (65 bytes), auth 16 bytes. */
export function subscriptionProblem(token: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(token);
  } catch {
    return "must be the browser's PushSubscription as JSON";
  }
  if (typeof parsed !== "object" || parsed === null) return "must be a JSON object";
  const { endpoint, keys } = parsed as { endpoint?: unknown; keys?: unknown };
  if (typeof endpoint !== "string") return "endpoint must be a URL";
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return "endpoint must be a URL";
  }
  if (url.protocol !== "https:" && !(url.protocol === "http:" && LOOPBACK.has(url.hostname))) {
    return "endpoint must be an https URL";
  }
  if (url.username || url.password) return "endpoint must not carry credentials";
  if (typeof keys !== "object" || keys === null) return "keys must hold p256dh and auth";
  const { p256dh, auth } = keys as { p256dh?: unknown; auth?: unknown };
  const point = typeof p256dh === "string" ? fromBase64Url(p256dh) : undefined;
  if (!point || point.length !== 65 || point[0] !== 4) {
    return "keys.p256dh must be an uncompressed P-256 public key (65 bytes, base64url)";
  }
  const secret = typeof auth === "string" ? fromBase64Url(auth) : undefined;
  if (!secret || secret.length !== 16) return "keys.auth must be 16 bytes (base64url)";
  return undefined;
}

/** The subscription in `token`, or undefined when it is not a valid one. */
export function parseSubscription(token: string): PushSubscriptionJson | undefined {
  if (subscriptionProblem(token)) return undefined;
  const parsed = JSON.parse(token) as PushSubscriptionJson;
  return {
    endpoint: parsed.endpoint,
    keys: { p256dh: parsed.keys.p256dh, auth: parsed.keys.auth },
  };
}
