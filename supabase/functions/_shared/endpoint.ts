// The one request pipeline every function uses: method → size limit → raw body →
// authenticate → parse JSON → validate (zod) → handler → JSON response. Errors of every
// step become the spec's error shape in one place; every response has x-request-id.
import { z } from "zod";
import { errorResponse, HttpError, jsonResponse } from "./http_error.ts";
import { parseJson, readRawBody, validate } from "./request_body.ts";
import { type BridgeIdentity, verifyBridgeRequest } from "./bridge_auth.ts";
import { assertFaithfulJson } from "./json_fidelity.ts";
import type { MobileUser } from "./mobile_auth.ts";
import type { Deps } from "./deps.ts";
import type { Logger } from "./logger.ts";
import { clientIp } from "./client_ip.ts";

export type AuthKind = "none" | "bridge" | "mobile";
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const CORS_HEADERS: Record<string, string> = {
  "access-control-allow-origin": "*",
  "access-control-allow-headers":
    "authorization, x-client-info, apikey, content-type, x-request-id",
  "access-control-allow-methods": "GET, POST, OPTIONS",
  "access-control-expose-headers": "x-request-id, retry-after",
};

export interface Context<Body, Query> {
  req: Request;
  requestId: string;
  /** the path after /functions/v1, e.g. /bridge-approval-wait/<id> */
  path: string;
  /** the `:id` path parameter, validated as a UUID, when the endpoint takes one */
  param: string;
  body: Body;
  query: Query;
  /** set for auth "bridge", and for `bridgeOptional` endpoints when the request is signed */
  bridge: BridgeIdentity;
  /** set for auth "mobile" */
  user: MobileUser;
  /** the client address the platform vouches for (client_ip.ts), never a forged hop */
  ip: string;
  log: Logger;
  /** AbortSignal that fires when the client goes away */
  signal: AbortSignal;
}

export interface EndpointSpec<
  B extends z.ZodType | undefined,
  Q extends z.ZodType | undefined,
> {
  name: string;
  method: "GET" | "POST";
  auth: AuthKind;
  /** with auth "none": a request that carries bridge signature headers must verify, and
   * its identity is then in ctx.bridge (pair-start: re-pairing proves the current secret) */
  bridgeOptional?: boolean;
  body?: B;
  query?: Q;
  /** the endpoint takes `/<name>/:id` (a UUID); a missing or malformed id is 404 */
  param?: string;
  cors?: boolean;
  handle(
    ctx: Context<
      B extends z.ZodType ? z.output<B> : undefined,
      Q extends z.ZodType ? z.output<Q> : undefined
    >,
    deps: Deps,
  ): Promise<Response>;
}

export type Handler = (req: Request, deps: Deps, info?: { remoteAddr?: unknown }) => Promise<
  Response
>;

export interface Endpoint {
  name: string;
  method: "GET" | "POST";
  auth: AuthKind;
  body?: z.ZodType;
  query?: z.ZodType;
  param?: string;
  handler: Handler;
}

/** The path after /functions/v1 (Supabase strips it before the function sees the request;
 * the local dev server does not). */
export function functionPath(url: URL): string {
  const p = url.pathname;
  return p.startsWith("/functions/v1/") ? p.slice("/functions/v1".length) : p;
}

export function defineEndpoint<
  B extends z.ZodType | undefined = undefined,
  Q extends z.ZodType | undefined = undefined,
>(spec: EndpointSpec<B, Q>): Endpoint {
  const cors = spec.cors ?? spec.auth === "mobile";
  async function run(req: Request, deps: Deps, requestId: string, info?: { remoteAddr?: unknown }) {
    const log = deps.log.child({ request_id: requestId, fn: spec.name });
    if (req.method === "OPTIONS" && cors) return new Response(null, { status: 204 });
    if (req.method !== spec.method) {
      throw new HttpError(
        "method_not_allowed",
        `Method ${req.method} is not allowed: use ${spec.method}`,
        {
          headers: { allow: spec.method },
        },
      );
    }
    const url = new URL(req.url);
    const path = functionPath(url);
    const segments = path.split("/").filter(Boolean);
    let param = "";
    if (spec.param) {
      if (segments.length !== 2 || !UUID_RE.test(segments[1])) {
        throw new HttpError("not_found", `Not found: ${spec.param} must be a UUID in the path`);
      }
      param = segments[1].toLowerCase();
    } else if (segments.length > 1) {
      throw new HttpError("not_found", `Not found: ${path}`);
    }
    if (spec.body) {
      const type = req.headers.get("content-type") ?? "";
      if (!/^application\/json\b/i.test(type.trim())) {
        throw new HttpError(
          "unsupported_media_type",
          "Unsupported media type: send the body as application/json",
        );
      }
    }
    const rawBody = await readRawBody(req, { timeoutMs: deps.config.BODY_READ_TIMEOUT_MS });
    const rawQuery = url.search.startsWith("?") ? url.search.slice(1) : url.search;
    const ctx = {
      req,
      requestId,
      path,
      param,
      ip: clientIp(req, info?.remoteAddr, {
        header: deps.config.CLIENT_IP_HEADER,
        trustedHops: deps.config.CLIENT_IP_TRUSTED_HOPS,
      }),
      log,
      signal: req.signal,
    } as Context<unknown, unknown>;
    const signed = spec.bridgeOptional &&
      (req.headers.has("x-signature") || req.headers.has("x-workspace-id"));
    if (spec.auth === "bridge" || signed) {
      ctx.bridge = await verifyBridgeRequest({
        req,
        path,
        query: rawQuery,
        rawBody,
        now: deps.now(),
        hmacSecret: deps.config.HMAC_SECRET,
        minVersion: deps.config.BRIDGE_SIGNATURE_MIN_VERSION,
        sql: deps.sql,
      });
    } else if (spec.auth === "mobile") {
      ctx.user = await deps.verifyMobile(req.headers.get("authorization"));
    }
    // Unknown query parameters are ignored (README: differences from SPEC).
    if (spec.query) {
      ctx.query = validate(spec.query, Object.fromEntries(url.searchParams), "query string");
    }
    if (spec.body) {
      const parsed = parseJson(rawBody);
      assertFaithfulJson(rawBody, parsed);
      ctx.body = validate(spec.body, parsed);
      const bodyWorkspace = (ctx.body as { workspace_id?: unknown })?.workspace_id;
      if (
        spec.auth === "bridge" && typeof bodyWorkspace === "string" &&
        bodyWorkspace.toLowerCase() !== ctx.bridge.workspaceId
      ) {
        throw new HttpError("forbidden", "Forbidden: workspace_id differs from X-Workspace-Id");
      }
    }
    // deno-lint-ignore no-explicit-any
    return await spec.handle(ctx as any, deps);
  }

  async function handler(req: Request, deps: Deps, info?: { remoteAddr?: unknown }) {
    const started = performance.now();
    const requestId = (req.headers.get("x-request-id") ?? "").slice(0, 128) ||
      crypto.randomUUID();
    let response: Response;
    try {
      response = await run(req, deps, requestId, info);
    } catch (error) {
      if (!(error instanceof HttpError)) {
        deps.log.error("unhandled error", {
          request_id: requestId,
          fn: spec.name,
          error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
        });
      }
      response = errorResponse(error);
    }
    response.headers.set("x-request-id", requestId);
    if (cors) { for (const [k, v] of Object.entries(CORS_HEADERS)) response.headers.set(k, v); }
    deps.log.debug("request", {
      request_id: requestId,
      fn: spec.name,
      method: req.method,
      status: response.status,
      ms: Math.round(performance.now() - started),
    });
    return response;
  }

  return {
    name: spec.name,
    method: spec.method,
    auth: spec.auth,
    body: spec.body,
    query: spec.query,
    param: spec.param,
    handler,
  };
}

export { jsonResponse };
