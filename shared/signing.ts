// Bridge request signing (docs/contract/security.md#bridge-signing): the derived per-workspace
// secret, the v1 and v2 signed strings, and constant-time verification. Used by the functions and
// the client.

import type * as NodeCrypto from "node:crypto";

const encoder = new TextEncoder();

// Two ways to hash and HMAC, picked by the process's job. A server verifying many requests
// uses node:crypto's synchronous createHash/createHmac/timingSafeEqual: an awaited
// crypto.subtle call hands off to a thread and back (~0.1 ms for a digest, ~0.2 ms of CPU
// for verify: a quarter of bridge-event's CPU under --cpu-prof). But importing node:crypto
// brings part of Deno's Node layer (~15 ms), which a hook process signing its one request
// (or none) should not pay: until something loads it (verifySignature does), WebCrypto.
let nodeCryptoLoaded: typeof NodeCrypto | undefined;
/** Which implementation hashes and HMACs in this process now (tests, benches). */
export function signingBackend(): "node" | "webcrypto" {
  return nodeCryptoLoaded ? "node" : "webcrypto";
}

async function nodeCrypto(): Promise<typeof NodeCrypto> {
  return nodeCryptoLoaded ??= await import("node:crypto");
}

/** Lowercase hex of bytes. */
function toHex(bytes: ArrayBuffer | Uint8Array): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let out = "";
  for (const b of view) out += b.toString(16).padStart(2, "0");
  return out;
}

/** Bytes of a hex string, or null when it is not even-length lowercase/uppercase hex. */
function fromHex(hex: string): Uint8Array | null {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) return null;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** base64url without padding. */
export function toBase64Url(bytes: ArrayBuffer | Uint8Array): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let binary = "";
  for (const b of view) binary += String.fromCharCode(b);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function asBytes(data: string | Uint8Array): Uint8Array<ArrayBuffer> {
  return (typeof data === "string" ? encoder.encode(data) : data) as Uint8Array<ArrayBuffer>;
}

/** SHA-256 of a string's UTF-8 bytes (or of bytes), lowercase hex. A plain digest of
 * public bytes (no secret, no comparison), so node:crypto's synchronous hash serves: an
 * awaited crypto.subtle.digest costs ~100 µs of thread hand-off per request, this ~5 µs. */
export async function sha256Hex(data: string | Uint8Array): Promise<string> {
  if (nodeCryptoLoaded) {
    return nodeCryptoLoaded.createHash("sha256").update(asBytes(data)).digest("hex");
  }
  return toHex(await crypto.subtle.digest("SHA-256", asBytes(data)));
}

/** Imports an HMAC-SHA256 key from raw key bytes (a string is taken as UTF-8). */
function importHmacKey(key: string | Uint8Array): Promise<CryptoKey> {
  return crypto.subtle.importKey(
    "raw",
    asBytes(key),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign", "verify"],
  );
}

/** HMAC-SHA256 of data with key, raw bytes: node:crypto once loaded (a server), else
 * WebCrypto (a hook process; an imported CryptoKey always). */
async function hmacSha256(
  key: string | Uint8Array | CryptoKey,
  data: string | Uint8Array,
): Promise<Uint8Array> {
  if (!(key instanceof CryptoKey) && nodeCryptoLoaded) return await hmacSha256Node(key, data);
  const cryptoKey = key instanceof CryptoKey ? key : await importHmacKey(key);
  return new Uint8Array(await crypto.subtle.sign("HMAC", cryptoKey, asBytes(data)));
}

async function hmacSha256Node(
  key: string | Uint8Array,
  data: string | Uint8Array,
): Promise<Uint8Array> {
  const { createHmac } = await nodeCrypto();
  return new Uint8Array(createHmac("sha256", asBytes(key)).update(asBytes(data)).digest());
}

/** HMAC-SHA256 of data with key, lowercase hex. */
export async function hmacSha256Hex(
  key: string | Uint8Array | CryptoKey,
  data: string | Uint8Array,
): Promise<string> {
  return toHex(await hmacSha256(key, data));
}

/** base64url(HMAC-SHA256(HMAC_SECRET, "bridge:v1:" + workspace_id + ":" + secret_version)). */
export async function deriveBridgeSecret(
  hmacSecret: string,
  workspaceId: string,
  secretVersion: number,
): Promise<string> {
  return toBase64Url(
    await hmacSha256(hmacSecret, `bridge:v1:${workspaceId}:${secretVersion}`),
  );
}

interface SignedRequestParts {
  method: string;
  /** the path after /functions/v1, e.g. /bridge-event */
  path: string;
  /** the raw query string without "?", empty when none */
  query: string;
  timestamp: string;
  nonce: string;
  /** the exact body bytes as sent (empty for a GET) */
  body: string | Uint8Array;
}

/** The v2 signed string: binds method, path, query, timestamp, nonce and the body hash. */
export async function v2SignedString(parts: SignedRequestParts): Promise<string> {
  return [
    "v2",
    parts.method.toUpperCase(),
    parts.path,
    parts.query,
    parts.timestamp,
    parts.nonce,
    await sha256Hex(parts.body),
  ].join("\n");
}

/** The seed's v1 signed string: `${timestamp}:${nonce}:${rawBody}` (as bytes). */
export function v1SignedBytes(
  parts: Pick<SignedRequestParts, "timestamp" | "nonce" | "body">,
): Uint8Array {
  const head = encoder.encode(`${parts.timestamp}:${parts.nonce}:`);
  const body = asBytes(parts.body);
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

/** Signature (lowercase hex) of a request with the given version. */
export async function signParts(
  secret: string,
  parts: SignedRequestParts,
  version: 1 | 2 = 2,
): Promise<string> {
  const data = version === 2 ? await v2SignedString(parts) : v1SignedBytes(parts);
  return await hmacSha256Hex(secret, data);
}

/** The constant-time comparison verifySignature uses (an object, so that a test can see it
 * called: tests/bridge_auth_http_test.ts), once node:crypto is loaded. */
export const constantTime = {
  equal(a: Uint8Array, b: Uint8Array): boolean {
    if (!nodeCryptoLoaded) throw new Error("constantTime.equal needs node:crypto loaded");
    return a.length === b.length && nodeCryptoLoaded.timingSafeEqual(a, b);
  },
};

/** Constant-time check of a hex signature: timingSafeEqual on the HMAC of raw key bytes (the
 * server caches the derived secrets), or crypto.subtle.verify with an imported key. */
export async function verifySignature(
  secret: string | Uint8Array | CryptoKey,
  parts: SignedRequestParts,
  version: 1 | 2,
  signatureHex: string,
): Promise<boolean> {
  const signature = fromHex(signatureHex);
  if (!signature || signature.length !== 32) return false;
  if (!(secret instanceof CryptoKey)) await nodeCrypto(); // a verifier: the synchronous path
  const data = version === 2 ? await v2SignedString(parts) : v1SignedBytes(parts);
  if (!(secret instanceof CryptoKey)) {
    return constantTime.equal(await hmacSha256Node(secret, data), signature);
  }
  return await crypto.subtle.verify(
    "HMAC",
    secret,
    signature as Uint8Array<ArrayBuffer>,
    asBytes(data),
  );
}

/** A nonce of 32 url-safe characters from the CSPRNG. */
export function newNonce(): string {
  return toBase64Url(crypto.getRandomValues(new Uint8Array(24)));
}

interface SignHeadersOptions {
  workspaceId: string;
  secret: string;
  method: string;
  path: string;
  query?: string;
  body?: string;
  timestamp?: number;
  nonce?: string;
  version?: 1 | 2;
}

/** The headers a signed bridge request carries. */
export async function signedHeaders(options: SignHeadersOptions): Promise<Record<string, string>> {
  const version = options.version ?? 2;
  const timestamp = String(options.timestamp ?? Date.now());
  const nonce = options.nonce ?? newNonce();
  const signature = await signParts(options.secret, {
    method: options.method,
    path: options.path,
    query: options.query ?? "",
    timestamp,
    nonce,
    body: options.body ?? "",
  }, version);
  const headers: Record<string, string> = {
    "x-workspace-id": options.workspaceId,
    "x-timestamp": timestamp,
    "x-nonce": nonce,
    "x-signature": signature,
  };
  if (version === 2) headers["x-signature-version"] = "2";
  return headers;
}
