// Loopback stand-ins for Google's OAuth token endpoint, FCM HTTP v1 and APNs that check
// what the real ones check: the JWT assertion (RS256 signature with the service account's
// key, header, iss/scope/aud/iat/exp), the bearer access token, the messages:send JSON
// shape, the APNs provider token (ES256 with the .p8 key, kid, iss, iat), headers and the
// /3/device/<token> path. Tests script answers per device token and read what arrived.
import * as jose from "jose";

export interface ScriptedAnswer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** never answer (until the server closes) */
  hang?: boolean;
}

export interface ReceivedPush {
  provider: "fcm" | "apns";
  token: string;
  /** FCM: the `message`; APNs: the payload */
  body: Record<string, unknown>;
  headers: Record<string, string>;
  /** performance.now() when it arrived */
  at: number;
}

export interface FakePushProviders {
  url: string;
  /** env for startStack: FCM_SERVICE_ACCOUNT_JSON, FCM_ENDPOINT, APNS_* */
  env: Record<string, string>;
  projectId: string;
  bundleId: string;
  tokenExchanges: number;
  /** distinct APNs provider tokens seen */
  apnsJwts: Set<string>;
  /** FCM sends refused for a bad bearer, APNs for a bad provider token */
  authFailures: string[];
  /** every request the fakes refused as malformed (a failing test shows why) */
  malformed: string[];
  received: ReceivedPush[];
  /** provider calls that reached the server (answered or not) */
  requests: number;
  /** answers for the next requests to a device token, in order; then 200 */
  script(token: string, ...answers: ScriptedAnswer[]): void;
  /** expires_in of the access tokens the token endpoint issues (default 3599) */
  tokenLifetimeSeconds: number;
  /** every request hangs until released */
  hangAll(on: boolean): void;
  /** waits until `n` pushes have arrived */
  waitForReceived(n: number): Promise<void>;
  close(): Promise<void>;
}

const FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging";
const FCM_MESSAGE_KEYS = new Set([
  "token",
  "notification",
  "data",
  "android",
  "apns",
  "webpush",
  "fcm_options",
  "name",
]);

function fcmError(status: number, statusName: string, message: string, errorCode?: string) {
  const details = errorCode
    ? [{ "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", errorCode }]
    : [];
  return { error: { code: status, message, status: statusName, details } };
}

/** An FCM error answer with the real shape. */
export const fcmErrors = {
  unregistered: (): ScriptedAnswer => ({
    status: 404,
    body: fcmError(404, "NOT_FOUND", "Requested entity was not found.", "UNREGISTERED"),
  }),
  invalidToken: (): ScriptedAnswer => ({
    status: 400,
    body: fcmError(
      400,
      "INVALID_ARGUMENT",
      "The registration token is not a valid FCM registration token",
      "INVALID_ARGUMENT",
    ),
  }),
  senderIdMismatch: (): ScriptedAnswer => ({
    status: 403,
    body: fcmError(403, "PERMISSION_DENIED", "SenderId mismatch", "SENDER_ID_MISMATCH"),
  }),
  unavailable: (retryAfter?: string): ScriptedAnswer => ({
    status: 503,
    body: fcmError(503, "UNAVAILABLE", "The service is currently unavailable.", "UNAVAILABLE"),
    headers: retryAfter ? { "retry-after": retryAfter } : {},
  }),
  internal: (): ScriptedAnswer => ({
    status: 500,
    body: fcmError(500, "INTERNAL", "Internal error encountered.", "INTERNAL"),
  }),
  quotaExceeded: (retryAfter: string): ScriptedAnswer => ({
    status: 429,
    body: fcmError(429, "RESOURCE_EXHAUSTED", "Quota exceeded.", "QUOTA_EXCEEDED"),
    headers: { "retry-after": retryAfter },
  }),
};

export const apnsErrors = {
  unregistered: (timestampMs: number): ScriptedAnswer => ({
    status: 410,
    body: { reason: "Unregistered", timestamp: timestampMs },
  }),
  badDeviceToken: (): ScriptedAnswer => ({ status: 400, body: { reason: "BadDeviceToken" } }),
  expiredProviderToken: (): ScriptedAnswer => ({
    status: 403,
    body: { reason: "ExpiredProviderToken" },
  }),
  tooManyRequests: (retryAfter: string): ScriptedAnswer => ({
    status: 429,
    body: { reason: "TooManyRequests" },
    headers: { "retry-after": retryAfter },
  }),
  internal: (): ScriptedAnswer => ({ status: 500, body: { reason: "InternalServerError" } }),
};

/** A random 64-hex-digit APNs device token. */
export function apnsToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export async function startFakePushProviders(): Promise<FakePushProviders> {
  const rsa = await jose.generateKeyPair("RS256", { extractable: true });
  const ec = await jose.generateKeyPair("ES256", { extractable: true });
  const projectId = "agentops-test";
  const clientEmail = `push@${projectId}.iam.gserviceaccount.com`;
  const privateKeyId = crypto.randomUUID().replaceAll("-", "");
  const apnsKeyId = "ABC123DEFG";
  const teamId = "TEAM123456";
  const bundleId = "com.example.agentops";
  const accessTokens = new Map<string, number>(); // token → expiry (ms)
  const scripts = new Map<string, ScriptedAnswer[]>();
  let hangAll = false;
  let tokenLifetime = 3599;
  const hangRelease: Array<() => void> = [];
  const waiters: Array<() => void> = [];

  const state = {
    tokenExchanges: 0,
    authFailures: [] as string[],
    malformed: [] as string[],
    received: [] as ReceivedPush[],
    requests: 0,
    apnsJwts: new Set<string>(),
  };

  const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
    new Response(JSON.stringify(body), {
      status,
      headers: { "content-type": "application/json", ...headers },
    });

  function refuse(why: string, response: Response): Response {
    state.malformed.push(why);
    return response;
  }

  async function answer(token: string, ok: () => Response): Promise<Response> {
    const queue = scripts.get(token);
    const next = queue?.shift();
    if (hangAll || next?.hang) {
      await new Promise<void>((resolve) => hangRelease.push(resolve));
      return json(503, { reason: "Shutdown" });
    }
    if (next) {
      return json(next.status, next.body ?? {}, next.headers);
    }
    return ok();
  }

  function delivered(push: ReceivedPush) {
    state.received.push(push);
    for (const wake of waiters.splice(0)) wake();
  }

  async function tokenEndpoint(req: Request, url: string): Promise<Response> {
    if (!/^application\/x-www-form-urlencoded/.test(req.headers.get("content-type") ?? "")) {
      return refuse("token: content-type", json(400, { error: "invalid_request" }));
    }
    const form = new URLSearchParams(await req.text());
    if (form.get("grant_type") !== "urn:ietf:params:oauth:grant-type:jwt-bearer") {
      return refuse("token: grant_type", json(400, { error: "unsupported_grant_type" }));
    }
    const assertion = form.get("assertion") ?? "";
    try {
      const { payload, protectedHeader } = await jose.jwtVerify(assertion, rsa.publicKey, {
        algorithms: ["RS256"],
        issuer: clientEmail,
        audience: url,
      });
      if (protectedHeader.kid !== privateKeyId) throw new Error("kid");
      if (protectedHeader.typ !== "JWT") throw new Error("typ");
      if (payload.scope !== FCM_SCOPE) throw new Error("scope");
      if (typeof payload.iat !== "number" || typeof payload.exp !== "number") {
        throw new Error("iat/exp");
      }
      if (payload.exp - payload.iat > 3600) throw new Error("exp more than 1 h after iat");
      if (Math.abs(payload.iat - Date.now() / 1000) > 300) throw new Error("iat not now");
    } catch (error) {
      return refuse(
        `token: assertion ${error}`,
        json(400, { error: "invalid_grant", error_description: "Invalid JWT Signature." }),
      );
    }
    state.tokenExchanges++;
    const accessToken = `ya29.${crypto.randomUUID()}`;
    accessTokens.set(accessToken, Date.now() + tokenLifetime * 1000);
    return json(200, {
      access_token: accessToken,
      expires_in: tokenLifetime,
      token_type: "Bearer",
    });
  }

  function checkFcmMessage(body: unknown): string | undefined {
    const m = (body as { message?: Record<string, unknown> })?.message;
    if (!m || typeof m !== "object") return "no message";
    for (const key of Object.keys(body as object)) {
      if (key !== "message" && key !== "validate_only") return `unknown field ${key}`;
    }
    for (const key of Object.keys(m)) {
      if (!FCM_MESSAGE_KEYS.has(key)) return `unknown field message.${key}`;
    }
    if (typeof m.token !== "string" || !m.token) return "message.token";
    if (m.data !== undefined) {
      for (const [k, v] of Object.entries(m.data as object)) {
        if (typeof v !== "string") return `message.data.${k} is not a string`;
      }
    }
    const android = m.android as Record<string, unknown> | undefined;
    if (android) {
      if (
        android.priority !== undefined && !["high", "normal"].includes(String(android.priority))
      ) {
        return "message.android.priority";
      }
      if (android.ttl !== undefined && !/^\d+(\.\d{1,9})?s$/.test(String(android.ttl))) {
        return "message.android.ttl";
      }
    }
    const apns = m.apns as { headers?: Record<string, unknown>; payload?: unknown } | undefined;
    if (apns?.headers) {
      for (const [k, v] of Object.entries(apns.headers)) {
        if (typeof v !== "string") return `message.apns.headers.${k} is not a string`;
      }
    }
    return undefined;
  }

  async function fcmSend(req: Request): Promise<Response> {
    const auth = req.headers.get("authorization") ?? "";
    const bearer = /^Bearer (.+)$/.exec(auth)?.[1];
    const expiry = bearer ? accessTokens.get(bearer) : undefined;
    if (!expiry || expiry < Date.now()) {
      state.authFailures.push(`fcm: ${auth ? "bad" : "no"} bearer`);
      return json(401, {
        error: {
          code: 401,
          message: "Request had invalid authentication credentials.",
          status: "UNAUTHENTICATED",
        },
      });
    }
    if (!/^application\/json/.test(req.headers.get("content-type") ?? "")) {
      return refuse("fcm: content-type", json(400, fcmError(400, "INVALID_ARGUMENT", "type")));
    }
    let body: unknown;
    try {
      body = await req.json();
    } catch {
      return refuse("fcm: not JSON", json(400, fcmError(400, "INVALID_ARGUMENT", "json")));
    }
    const bad = checkFcmMessage(body);
    if (bad) {
      return refuse(
        `fcm: ${bad}`,
        json(400, {
          error: {
            code: 400,
            message: `Invalid JSON payload received. ${bad}`,
            status: "INVALID_ARGUMENT",
            details: [{
              "@type": "type.googleapis.com/google.rpc.BadRequest",
              fieldViolations: [{ field: "message", description: bad }],
            }],
          },
        }),
      );
    }
    const message = (body as { message: Record<string, unknown> }).message;
    const token = message.token as string;
    return await answer(token, () => {
      delivered({
        provider: "fcm",
        token,
        body: message,
        headers: Object.fromEntries(req.headers),
        at: performance.now(),
      });
      return json(200, { name: `projects/${projectId}/messages/0:${crypto.randomUUID()}` });
    });
  }

  async function apnsSend(req: Request, token: string): Promise<Response> {
    const auth = req.headers.get("authorization") ?? "";
    const jwt = /^bearer (.+)$/.exec(auth)?.[1];
    try {
      if (!jwt) throw new Error("no bearer");
      const { payload, protectedHeader } = await jose.jwtVerify(jwt, ec.publicKey, {
        algorithms: ["ES256"],
        issuer: teamId,
      });
      if (protectedHeader.kid !== apnsKeyId) throw new Error("kid");
      if (typeof payload.iat !== "number" || Date.now() / 1000 - payload.iat > 3600) {
        throw new Error("iat");
      }
      state.apnsJwts.add(jwt);
    } catch (error) {
      state.authFailures.push(`apns: ${error}`);
      return json(403, { reason: jwt ? "InvalidProviderToken" : "MissingProviderToken" });
    }
    const h = req.headers;
    if (h.get("apns-topic") !== bundleId) {
      return refuse("apns: apns-topic", json(400, { reason: "BadTopic" }));
    }
    const pushType = h.get("apns-push-type");
    if (pushType !== "alert" && pushType !== "background") {
      return refuse("apns: apns-push-type", json(400, { reason: "InvalidPushType" }));
    }
    const priority = h.get("apns-priority");
    if (priority !== null && priority !== "10" && priority !== "5") {
      return refuse("apns: apns-priority", json(400, { reason: "BadPriority" }));
    }
    if (pushType === "background" && priority !== "5") {
      return refuse(
        "apns: background push must be priority 5",
        json(400, { reason: "BadPriority" }),
      );
    }
    const expiration = h.get("apns-expiration");
    if (expiration !== null && !/^\d+$/.test(expiration)) {
      return refuse("apns: apns-expiration", json(400, { reason: "BadExpirationDate" }));
    }
    const collapse = h.get("apns-collapse-id");
    if (collapse !== null && new TextEncoder().encode(collapse).length > 64) {
      return refuse("apns: apns-collapse-id", json(400, { reason: "BadCollapseId" }));
    }
    if (!/^[0-9a-f]{64}$/i.test(token)) {
      return refuse("apns: token", json(400, { reason: "BadDeviceToken" }));
    }
    const raw = await req.text();
    if (new TextEncoder().encode(raw).length > 4096) {
      return refuse("apns: payload size", json(413, { reason: "PayloadTooLarge" }));
    }
    let payload: Record<string, unknown>;
    try {
      payload = JSON.parse(raw);
    } catch {
      return refuse("apns: payload JSON", json(400, { reason: "PayloadEmpty" }));
    }
    const aps = payload.aps as Record<string, unknown> | undefined;
    if (!aps || typeof aps !== "object") {
      return refuse("apns: no aps", json(400, { reason: "PayloadEmpty" }));
    }
    if (pushType === "background" && aps["content-available"] !== 1) {
      return refuse(
        "apns: background without content-available",
        json(400, {
          reason: "PayloadEmpty",
        }),
      );
    }
    if (pushType === "alert" && !aps.alert) {
      return refuse("apns: alert push without aps.alert", json(400, { reason: "PayloadEmpty" }));
    }
    return await answer(token, () => {
      delivered({
        provider: "apns",
        token,
        body: payload,
        headers: Object.fromEntries(h),
        at: performance.now(),
      });
      return new Response(null, { status: 200, headers: { "apns-id": crypto.randomUUID() } });
    });
  }

  const server: Deno.HttpServer<Deno.NetAddr> = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: () => {},
  }, (req): Response | Promise<Response> => {
    const url = new URL(req.url);
    const tokenUri: string = `http://127.0.0.1:${server.addr.port}/token`;
    if (req.method !== "POST") return json(405, {});
    if (url.pathname === "/token") return tokenEndpoint(req, tokenUri);
    state.requests++;
    if (url.pathname === `/v1/projects/${projectId}/messages:send`) return fcmSend(req);
    const device = /^\/3\/device\/([^/]+)$/.exec(url.pathname);
    if (device) return apnsSend(req, decodeURIComponent(device[1]));
    state.requests--;
    return refuse(`unknown path ${url.pathname}`, json(404, {}));
  });
  const url = `http://127.0.0.1:${server.addr.port}`;
  const serviceAccount = {
    type: "service_account",
    project_id: projectId,
    private_key_id: privateKeyId,
    private_key: await jose.exportPKCS8(rsa.privateKey),
    client_email: clientEmail,
    client_id: "1234567890",
    token_uri: `${url}/token`,
  };

  return {
    url,
    projectId,
    bundleId,
    env: {
      FCM_SERVICE_ACCOUNT_JSON: JSON.stringify(serviceAccount),
      FCM_ENDPOINT: url,
      APNS_ENDPOINT: url,
      APNS_PRIVATE_KEY: await jose.exportPKCS8(ec.privateKey),
      APNS_KEY_ID: apnsKeyId,
      APNS_TEAM_ID: teamId,
      APNS_BUNDLE_ID: bundleId,
    },
    get tokenExchanges() {
      return state.tokenExchanges;
    },
    get apnsJwts() {
      return state.apnsJwts;
    },
    get authFailures() {
      return state.authFailures;
    },
    get malformed() {
      return state.malformed;
    },
    get received() {
      return state.received;
    },
    get requests() {
      return state.requests;
    },
    get tokenLifetimeSeconds() {
      return tokenLifetime;
    },
    set tokenLifetimeSeconds(seconds: number) {
      tokenLifetime = seconds;
    },
    script(token, ...answers) {
      scripts.set(token, [...(scripts.get(token) ?? []), ...answers]);
    },
    hangAll(on) {
      hangAll = on;
      if (!on) { for (const release of hangRelease.splice(0)) release(); }
    },
    async waitForReceived(n) {
      while (state.received.length < n) {
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
    },
    async close() {
      for (const release of hangRelease.splice(0)) release();
      await server.shutdown();
    },
  };
}
