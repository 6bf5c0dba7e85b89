// A loopback Web Push service that checks what a real one checks: the VAPID authorization
// (RFC 8292: `vapid t=<ES256 JWT>, k=<public key>`, the JWT verified with that key, aud =
// the service's origin, exp within 24 h, sub a mailto:/https: contact), TTL, Urgency and
// Content-Encoding aes128gcm; and, as the browser would, decrypts the body (RFC 8291) with
// the subscription's private key, which the test holds (subscribe() makes the keys).
import * as jose from "jose";
import { fromBase64Url, toBase64Url } from "../../shared/push_subscription.ts";
import type { ScriptedAnswer } from "./push_providers.ts";
import { concat, hkdf } from "../../supabase/functions/_shared/webpush.ts";

export interface ReceivedWebPush {
  subscriptionId: string;
  /** the decrypted payload, parsed */
  payload: Record<string, unknown>;
  headers: Record<string, string>;
  jwt: jose.JWTPayload;
  at: number;
}

export interface FakeWebPushService {
  url: string;
  /** VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY, VAPID_SUBJECT for startStack */
  env: Record<string, string>;
  received: ReceivedWebPush[];
  /** requests refused as malformed, with the reason */
  malformed: string[];
  /** a new subscription (its PushSubscription JSON, as a browser gives it) */
  subscribe(): Promise<{ id: string; json: string }>;
  /** answers for the next pushes to a subscription, in order; then 201 */
  script(subscriptionId: string, ...answers: ScriptedAnswer[]): void;
  waitForReceived(n: number, limitMs?: number): Promise<void>;
  close(): Promise<void>;
}

const encoder = new TextEncoder();

interface Subscriber {
  keys: CryptoKeyPair;
  publicRaw: Uint8Array<ArrayBuffer>;
  auth: Uint8Array<ArrayBuffer>;
}

/** RFC 8291 decryption as the browser does it (a single record). */
export async function decryptAes128gcm(
  body: Uint8Array<ArrayBuffer>,
  subscriber: Subscriber,
): Promise<Uint8Array> {
  const salt = body.slice(0, 16);
  const rs = new DataView(body.buffer, body.byteOffset).getUint32(16);
  const idlen = body[20];
  const asPublic = body.slice(21, 21 + idlen);
  const ciphertext = body.slice(21 + idlen);
  if (rs < 18 || idlen !== 65 || ciphertext.length > rs) {
    throw new Error(`bad aes128gcm header (rs ${rs}, idlen ${idlen})`);
  }
  const asKey = await crypto.subtle.importKey(
    "raw",
    asPublic,
    { name: "ECDH", namedCurve: "P-256" },
    false,
    [],
  );
  const ecdh = new Uint8Array(
    await crypto.subtle.deriveBits(
      { name: "ECDH", public: asKey },
      subscriber.keys.privateKey,
      256,
    ),
  );
  const ikm = await hkdf(
    subscriber.auth,
    ecdh,
    concat(encoder.encode("WebPush: info\0"), subscriber.publicRaw, asPublic),
    32,
  );
  const cek = await hkdf(salt, ikm, encoder.encode("Content-Encoding: aes128gcm\0"), 16);
  const nonce = await hkdf(salt, ikm, encoder.encode("Content-Encoding: nonce\0"), 12);
  const key = await crypto.subtle.importKey("raw", cek, "AES-GCM", false, ["decrypt"]);
  const padded = new Uint8Array(
    await crypto.subtle.decrypt({ name: "AES-GCM", iv: nonce }, key, ciphertext),
  );
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  if (padded[end] !== 2) throw new Error("the last record's delimiter is not 0x02");
  return padded.slice(0, end);
}

export async function startFakeWebPushService(): Promise<FakeWebPushService> {
  const vapid = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  const vapidPublic = toBase64Url(
    new Uint8Array(await crypto.subtle.exportKey("raw", vapid.publicKey)),
  );
  const vapidJwk = await crypto.subtle.exportKey("jwk", vapid.privateKey);
  const subscribers = new Map<string, Subscriber>();
  const scripts = new Map<string, ScriptedAnswer[]>();
  const received: ReceivedWebPush[] = [];
  const malformed: string[] = [];
  const waiters: Array<() => void> = [];

  function refuse(why: string, status = 400): Response {
    malformed.push(why);
    return new Response(JSON.stringify({ reason: why }), { status });
  }

  async function handle(req: Request, origin: string): Promise<Response> {
    const url = new URL(req.url);
    const match = /^\/push\/([A-Za-z0-9-]+)$/.exec(url.pathname);
    if (req.method !== "POST" || !match) {
      return refuse(`unexpected ${req.method} ${url.pathname}`, 404);
    }
    const id = match[1];
    const subscriber = subscribers.get(id);
    if (!subscriber) return new Response(null, { status: 404 });
    const h = req.headers;
    if (h.get("content-encoding") !== "aes128gcm") return refuse("content-encoding not aes128gcm");
    if (!/^\d+$/.test(h.get("ttl") ?? "")) return refuse("TTL missing or not an integer");
    const urgency = h.get("urgency");
    if (urgency && !["very-low", "low", "normal", "high"].includes(urgency)) {
      return refuse(`bad Urgency ${urgency}`);
    }
    const topic = h.get("topic");
    if (topic && !/^[A-Za-z0-9_-]{1,32}$/.test(topic)) return refuse(`bad Topic ${topic}`);
    const auth = /^vapid t=([^,\s]+),\s*k=([A-Za-z0-9_-]+)$/.exec(h.get("authorization") ?? "");
    if (!auth) return refuse("authorization is not `vapid t=…, k=…`", 401);
    if (auth[2] !== vapidPublic) return refuse("k is not the VAPID public key", 403);
    let jwt: jose.JWTPayload;
    try {
      const raw = fromBase64Url(auth[2])!;
      const key = await jose.importJWK({
        kty: "EC",
        crv: "P-256",
        x: toBase64Url(raw.slice(1, 33)),
        y: toBase64Url(raw.slice(33)),
      }, "ES256");
      const verified = await jose.jwtVerify(auth[1], key, { audience: origin });
      if (verified.protectedHeader.alg !== "ES256") throw new Error("alg is not ES256");
      jwt = verified.payload;
      const now = Math.floor(Date.now() / 1000);
      if (!jwt.exp || jwt.exp > now + 24 * 3600) throw new Error("exp more than 24 h ahead");
      if (!/^(mailto:|https:)/.test(String(jwt.sub))) throw new Error("sub is no contact");
    } catch (error) {
      return refuse(`VAPID JWT refused: ${error}`, 403);
    }
    const body = new Uint8Array(await req.arrayBuffer());
    let payload: Record<string, unknown>;
    try {
      payload = JSON.parse(new TextDecoder().decode(await decryptAes128gcm(body, subscriber)));
    } catch (error) {
      return refuse(`cannot decrypt: ${error}`);
    }
    const answer = scripts.get(id)?.shift();
    if (answer) {
      return new Response(answer.body === undefined ? null : JSON.stringify(answer.body), {
        status: answer.status,
        headers: answer.headers,
      });
    }
    received.push({
      subscriptionId: id,
      payload,
      headers: Object.fromEntries(h),
      jwt,
      at: performance.now(),
    });
    for (const wake of waiters.splice(0)) wake();
    return new Response(null, {
      status: 201,
      headers: { location: `${origin}/message/${crypto.randomUUID()}` },
    });
  }

  const server: Deno.HttpServer<Deno.NetAddr> = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req): Promise<Response> => handle(req, `http://127.0.0.1:${server.addr.port}`),
  );
  const url = `http://127.0.0.1:${server.addr.port}`;

  return {
    url,
    env: {
      VAPID_PUBLIC_KEY: vapidPublic,
      VAPID_PRIVATE_KEY: vapidJwk.d!,
      VAPID_SUBJECT: "mailto:ops@example.com",
    },
    received,
    malformed,
    async subscribe() {
      const keys = await crypto.subtle.generateKey(
        { name: "ECDH", namedCurve: "P-256" },
        true,
        ["deriveBits"],
      ) as CryptoKeyPair;
      const publicRaw = new Uint8Array(await crypto.subtle.exportKey("raw", keys.publicKey));
      const auth = crypto.getRandomValues(new Uint8Array(16));
      const id = crypto.randomUUID();
      subscribers.set(id, { keys, publicRaw, auth });
      const json = JSON.stringify({
        endpoint: `${url}/push/${id}`,
        expirationTime: null,
        keys: { p256dh: toBase64Url(publicRaw), auth: toBase64Url(auth) },
      });
      return { id, json };
    },
    script(subscriptionId, ...answers) {
      scripts.set(subscriptionId, [...(scripts.get(subscriptionId) ?? []), ...answers]);
    },
    async waitForReceived(n, limitMs = 20_000) {
      const deadline = Date.now() + limitMs;
      while (received.length < n) {
        if (Date.now() > deadline) {
          throw new Error(`Gave up waiting for ${n} Web Pushes (got ${received.length})`);
        }
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 50);
        });
      }
    },
    async close() {
      await server.shutdown();
    },
  };
}
