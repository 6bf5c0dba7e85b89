// Verifies a signed bridge request (docs/contract/security.md#bridge-signing) over the raw
// body bytes, before anything is parsed. The nonce is consumed later, by the request's
// own SQL function, in the same transaction as its write.
import { deriveBridgeSecret, verifySignature } from "@shared/signing.ts";
import { HttpError } from "./http_error.ts";
import { query, type Sql } from "./db.ts";

const MAX_CLOCK_SKEW_MS = 300_000;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const NONCE_RE = /^[A-Za-z0-9_-]{8,128}$/;

export interface BridgeIdentity {
  workspaceId: string;
  secretVersion: number;
  nonce: string;
  signatureVersion: 1 | 2;
}

interface BridgeAuthInput {
  req: Request;
  /** path after /functions/v1 */
  path: string;
  /** raw query string without "?" */
  query: string;
  rawBody: Uint8Array;
  now: number;
  hmacSecret: string;
  minVersion: number;
  sql: Sql;
}

const unauthorized = (why: string) =>
  new HttpError("unauthorized", `Cannot verify request: ${why}`);

// Derived secrets are a pure function of (HMAC_SECRET, workspace, version): safe to memoise
// (keyed by all three: one process may serve several configurations, as tests do). Kept as
// the secret itself, not an imported CryptoKey: verifySignature then checks it with
// node:crypto's synchronous HMAC (signing.ts says what WebCrypto's round trip costs).
const keyCache = new Map<string, Promise<string>>();
function bridgeKey(hmacSecret: string, workspaceId: string, version: number): Promise<string> {
  const cacheKey = `${hmacSecret}\n${workspaceId}:${version}`;
  let key = keyCache.get(cacheKey);
  if (!key) {
    if (keyCache.size > 10_000) keyCache.clear();
    key = deriveBridgeSecret(hmacSecret, workspaceId, version);
    keyCache.set(cacheKey, key);
  }
  return key;
}

// Each workspace's current secret version, cached per isolate (and per database) for a
// minute. Only an optimisation, saving a round trip per request: the request's own SQL
// function checks the version again inside its write transaction
// (private.consume_nonce), so a secret rotated since is refused there; and a signature
// that does not verify with a cached version is checked again with a fresh one, so a
// re-paired workspace's new secret works at once.
const VERSION_TTL_MS = 60_000;
const versionCaches = new WeakMap<Sql, Map<string, { version: number; at: number }>>();
function versionCacheFor(sql: Sql): Map<string, { version: number; at: number }> {
  let cache = versionCaches.get(sql);
  if (!cache) {
    cache = new Map();
    versionCaches.set(sql, cache);
  }
  return cache;
}

export async function verifyBridgeRequest(input: BridgeAuthInput): Promise<BridgeIdentity> {
  const h = input.req.headers;
  const workspaceId = h.get("x-workspace-id");
  const timestamp = h.get("x-timestamp");
  const nonce = h.get("x-nonce");
  const signature = h.get("x-signature");
  const versionHeader = h.get("x-signature-version");
  if (!workspaceId || !timestamp || !nonce || !signature) {
    const missing = [
      ["X-Workspace-Id", workspaceId],
      ["X-Timestamp", timestamp],
      ["X-Nonce", nonce],
      ["X-Signature", signature],
    ].filter(([, v]) => !v).map(([k]) => k);
    throw unauthorized(`missing header ${missing.join(", ")}`);
  }
  if (!UUID_RE.test(workspaceId)) throw unauthorized("X-Workspace-Id is not a UUID");
  if (!/^\d{1,16}$/.test(timestamp)) throw unauthorized("X-Timestamp is not unix milliseconds");
  if (!NONCE_RE.test(nonce)) throw unauthorized("X-Nonce must be 8-128 characters [A-Za-z0-9_-]");
  if (!/^[0-9a-fA-F]{64}$/.test(signature)) throw unauthorized("X-Signature is not 64 hex digits");
  let version: 1 | 2;
  if (versionHeader === null) version = 1;
  else if (versionHeader.trim() === "2") version = 2;
  else if (versionHeader.trim() === "1") version = 1;
  else throw unauthorized(`unknown X-Signature-Version ${versionHeader.slice(0, 10)}`);
  if (version < input.minVersion) {
    throw unauthorized(`signature version ${version} is refused; sign with version 2`);
  }
  const skew = input.now - Number(timestamp);
  if (Math.abs(skew) > MAX_CLOCK_SKEW_MS) {
    throw new HttpError(
      "signature_expired",
      `Cannot verify request: timestamp is ${
        Math.round(skew / 1000)
      } s from server time (limit 300 s)`,
    );
  }
  const id = workspaceId.toLowerCase();
  const verifyWith = async (secretVersion: number) =>
    await verifySignature(
      await bridgeKey(input.hmacSecret, id, secretVersion),
      {
        method: input.req.method,
        path: input.path,
        query: input.query,
        timestamp,
        nonce,
        body: input.rawBody,
      },
      version,
      signature,
    );
  const cache = versionCacheFor(input.sql);
  const cached = cache.get(id);
  const fresh = cached !== undefined && performance.now() - cached.at < VERSION_TTL_MS;
  let secretVersion: number;
  if (fresh && await verifyWith(cached.version)) {
    secretVersion = cached.version;
  } else {
    const rows = await query(() =>
      input.sql`select secret_version from private.workspace_keys where workspace_id = ${id}`
    );
    if (rows.length === 0) {
      cache.delete(id);
      throw unauthorized("bad signature");
    }
    secretVersion = Number(rows[0].secret_version);
    if (cache.size > 10_000) cache.clear();
    cache.set(id, { version: secretVersion, at: performance.now() });
    const alreadyTried = fresh && cached.version === secretVersion;
    if (alreadyTried || !(await verifyWith(secretVersion))) throw unauthorized("bad signature");
  }
  return {
    workspaceId: id,
    secretVersion,
    nonce,
    signatureVersion: version,
  };
}
