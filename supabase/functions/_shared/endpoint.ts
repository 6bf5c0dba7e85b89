// The one request pipeline every function uses: method → size limit → raw body →
// authenticate (by the endpoint's auth kind) → parse JSON → validate (valibot) → handler →
// JSON response. Errors of every step become the API's error shape in one place; every
// response has x-request-id.
import type * as v from "valibot";
// Types only: an endpoint names its schemas (body, query, response), and the pipeline
// imports shared/api_schemas.ts and validate.ts (and valibot with them) on the first request
// it validates, so none is loaded at cold start (issue 21: they add ~6 ms to a process,
// zod's added ~31 ms), except where validate_at_start.ts provides a function's own schemas.
import type * as ApiSchemas from "@shared/api_schemas.ts";
import type * as Validation from "./validate.ts";
import { type ErrorCode, errorResponse, HttpError, jsonResponse } from "./http_error.ts";
import { parseJson, readRawBody } from "./request_body.ts";
import { type BridgeIdentity, verifyBridgeRequest } from "./bridge_auth.ts";
import { assertFaithfulJson } from "./json_fidelity.ts";
import type { MobileUser } from "./mobile_auth.ts";
import type { Deps } from "./deps.ts";
import type { Logger } from "./logger.ts";
import { clientIp } from "./client_ip.ts";
import { verifyDispatchBearer } from "./dispatch_auth.ts";

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const CORS_HEADERS: Record<string, string> = {
  "access-control-allow-origin": "*",
  "access-control-allow-headers":
    "authorization, x-client-info, apikey, content-type, x-request-id",
  "access-control-allow-methods": "GET, POST, OPTIONS",
  "access-control-expose-headers": "x-request-id, retry-after",
};

/** What the pipeline's authentication step puts in the context, by the endpoint's auth. */
interface AuthContext {
  /** no credential */
  none: Record<never, never>;
  /** an HMAC-signed request of the hook runner (bridge_auth.ts) */
  bridge: { bridge: BridgeIdentity };
  /** no credential needed, but a request that carries bridge signature headers must
   * verify, and its identity is then set (pair-start: re-pairing proves the secret) */
  "bridge-optional": { bridge: BridgeIdentity | undefined };
  /** a Supabase Auth access token of the phone (mobile_auth.ts) */
  mobile: { user: MobileUser };
  /** the push-dispatch bearer secret (dispatch_auth.ts) */
  dispatch: Record<never, never>;
}
export type AuthKind = keyof AuthContext;

const ANY_ERRORS: ErrorCode[] = ["method_not_allowed", "unavailable", "internal"];
const SIGNATURE_ERRORS: ErrorCode[] = ["unauthorized", "signature_expired", "replayed_nonce"];
/** Error codes the pipeline itself may answer, by auth kind (the OpenAPI document lists
 * them for every endpoint of that kind). */
export const AUTH_ERRORS: Record<AuthKind, ErrorCode[]> = {
  none: ANY_ERRORS,
  "bridge-optional": [...SIGNATURE_ERRORS, ...ANY_ERRORS],
  bridge: [...SIGNATURE_ERRORS, ...ANY_ERRORS],
  mobile: ["unauthorized", ...ANY_ERRORS],
  dispatch: ["unauthorized", ...ANY_ERRORS],
};

interface AuthInput {
  req: Request;
  path: string;
  rawQuery: string;
  rawBody: Uint8Array;
  deps: Deps;
}

function bridgeIdentity({ req, path, rawQuery, rawBody, deps }: AuthInput) {
  return verifyBridgeRequest({
    req,
    path,
    query: rawQuery,
    rawBody,
    now: deps.now(),
    hmacSecret: deps.config.HMAC_SECRET,
    minVersion: deps.config.BRIDGE_SIGNATURE_MIN_VERSION,
    sql: deps.sql,
  });
}

/** The authentication step, one function per auth kind. */
const AUTHENTICATE: { [A in AuthKind]: (input: AuthInput) => Promise<AuthContext[A]> } = {
  none: () => Promise.resolve({}),
  bridge: async (input) => ({ bridge: await bridgeIdentity(input) }),
  "bridge-optional": async (input) => {
    const signed = input.req.headers.has("x-signature") ||
      input.req.headers.has("x-workspace-id");
    return { bridge: signed ? await bridgeIdentity(input) : undefined };
  },
  mobile: async ({ req, deps }) => ({
    user: await deps.verifyMobile(req.headers.get("authorization")),
  }),
  dispatch: async ({ req, deps }) => {
    await verifyDispatchBearer(
      req.headers.get("authorization"),
      deps.config.PUSH_DISPATCH_SECRET ?? deps.config.SUPABASE_SERVICE_ROLE_KEY,
    );
    return {};
  },
};

/** What every handler gets, whatever its auth. */
interface RequestContext<Body, Query> {
  req: Request;
  requestId: string;
  /** the path after /functions/v1, e.g. /bridge-approval-wait/<id> */
  path: string;
  /** the `:id` path parameter, validated as a UUID, when the endpoint takes one */
  param: string;
  body: Body;
  query: Query;
  /** the client address the platform vouches for (client_ip.ts), never a forged hop */
  ip: string;
  log: Logger;
  /** AbortSignal that fires when the client goes away */
  signal: AbortSignal;
}

/** A handler's context: the request's parts, plus what its auth kind established
 * (`bridge` for bridge auth, `user` for mobile auth, nothing else). */
export type Context<A extends AuthKind, Body, Query> = RequestContext<Body, Query> & AuthContext[A];

/** The name of a schema exported by shared/api_schemas.ts. */
type SchemaName = {
  [K in keyof typeof ApiSchemas]: (typeof ApiSchemas)[K] extends v.GenericSchema ? K : never;
}[keyof typeof ApiSchemas];

/** The validated value of an optional named schema: undefined when the endpoint has none. */
type Parsed<S extends SchemaName | undefined> = S extends SchemaName
  ? v.InferOutput<(typeof ApiSchemas)[S]>
  : undefined;

let validation: Promise<[typeof ApiSchemas, typeof Validation]> | undefined;
/** shared/api_schemas.ts and validate.ts, imported (with valibot) on the first request that
 * is validated. Measured (bench/FINDINGS.md): the dynamic import costs a validated first
 * request ~3–8 ms of CPU more than a static one would, and spares that much to the functions
 * with no schema and to every first request refused before validation. */
function loadValidation(): Promise<[typeof ApiSchemas, typeof Validation]> {
  return validation ??= Promise.all([import("@shared/api_schemas.ts"), import("./validate.ts")]);
}

/** Schemas imported statically, with validate(): validate_at_start.ts provides them in the
 * functions whose first request is validated before it is authenticated. */
const provided: Partial<Record<SchemaName, v.GenericSchema>> = {};
let validateProvided: typeof Validation.validate | undefined;
export function provideValidation(
  schemas: Partial<typeof ApiSchemas>,
  validate: typeof Validation.validate,
): void {
  Object.assign(provided, schemas);
  validateProvided = validate;
}

/** What the API reference says of an endpoint (scripts/gen_openapi.ts reads it). */
interface EndpointDocs {
  summary: string;
  description?: string;
  /** the success status */
  status: number;
  /** the success body: the name of its schema in shared/api_schemas.ts */
  response: SchemaName;
  /** error codes the handler answers beyond those of the pipeline (its auth kind, body,
   * query and path parameter add theirs) */
  errors: ErrorCode[];
  /** answers a bodiless 304 with its ETag when If-None-Match names the current version */
  notModified?: boolean;
}

/** What an endpoint is, to the router and the API reference. */
interface EndpointShape<
  A extends AuthKind,
  B extends SchemaName | undefined,
  Q extends SchemaName | undefined,
> extends EndpointDocs {
  name: string;
  method: "GET" | "POST";
  auth: A;
  /** the request body's schema: its name in shared/api_schemas.ts */
  body?: B;
  /** the query string's schema: its name in shared/api_schemas.ts */
  query?: Q;
  /** the endpoint takes `/<name>/:id` (a UUID); a missing or malformed id is 404 */
  param?: string;
}

interface EndpointSpec<
  A extends AuthKind,
  B extends SchemaName | undefined,
  Q extends SchemaName | undefined,
> extends EndpointShape<A, B, Q> {
  /** answer CORS (default: for mobile auth) */
  cors?: boolean;
  handle(ctx: Context<A, Parsed<B>, Parsed<Q>>, deps: Deps): Promise<Response>;
}

type Handler = (req: Request, deps: Deps, info?: { remoteAddr?: unknown }) => Promise<
  Response
>;

export interface Endpoint extends EndpointShape<AuthKind, SchemaName, SchemaName> {
  handler: Handler;
}

/** The path after /functions/v1 (Supabase strips it before the function sees the request;
 * the local dev server does not). */
function functionPath(url: URL): string {
  const p = url.pathname;
  return p.startsWith("/functions/v1/") ? p.slice("/functions/v1".length) : p;
}

/** Validates `value` with the schema named `schema`, or is undefined when the endpoint
 * takes no such part. */
async function parsePart<S extends SchemaName | undefined>(
  schema: S | undefined,
  value: () => unknown,
  what?: string,
): Promise<Parsed<S>> {
  if (!schema) return undefined as Parsed<S>;
  const ready = provided[schema];
  if (ready && validateProvided) return validateProvided(ready, value(), what) as Parsed<S>;
  const [schemas, { validate }] = await loadValidation();
  // A conditional type is not narrowed by the check: the one cast of the pipeline.
  return validate(schemas[schema] as v.GenericSchema, value(), what) as Parsed<S>;
}

export function defineEndpoint<
  A extends AuthKind,
  B extends SchemaName | undefined = undefined,
  Q extends SchemaName | undefined = undefined,
>(spec: EndpointSpec<A, B, Q>): Endpoint {
  const cors = spec.cors ?? spec.auth === "mobile";
  /** Every step before the handler: the handler's context, or a Response (OPTIONS). Its
   * frame (the URL, the raw body, each step's locals) ends before the handler runs, so a
   * parked long-poll keeps only what its handler holds. */
  async function prepare(
    req: Request,
    deps: Deps,
    requestId: string,
    info?: { remoteAddr?: unknown },
  ): Promise<Context<A, Parsed<B>, Parsed<Q>> | Response> {
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
    const auth = await AUTHENTICATE[spec.auth]({ req, path, rawQuery, rawBody, deps });
    // Unknown query parameters are ignored (docs/contract/README.md#differences).
    const query = await parsePart(
      spec.query,
      () => Object.fromEntries(url.searchParams),
      "query string",
    );
    const body = await parsePart(spec.body, () => {
      const parsed = parseJson(rawBody);
      assertFaithfulJson(rawBody, parsed);
      return parsed;
    });
    const signedFor = (auth as { bridge?: BridgeIdentity }).bridge?.workspaceId;
    const bodyWorkspace = (body as { workspace_id?: unknown } | undefined)?.workspace_id;
    if (
      spec.auth === "bridge" && typeof bodyWorkspace === "string" &&
      bodyWorkspace.toLowerCase() !== signedFor
    ) {
      throw new HttpError("forbidden", "Forbidden: workspace_id differs from X-Workspace-Id");
    }
    const ip = clientIp(req, info?.remoteAddr, {
      header: deps.config.CLIENT_IP_HEADER,
      trustedHops: deps.config.CLIENT_IP_TRUSTED_HOPS,
    });
    const context: RequestContext<Parsed<B>, Parsed<Q>> = {
      req,
      requestId,
      path,
      param,
      body,
      query,
      ip,
      log,
      // Read on first use only: Deno creates a request's signal when it is first read, and a
      // created signal is aborted after every successful response (the legacy abort: a
      // DOMException and its listeners, ~20 us a request). Only the long-polls need it.
      get signal() {
        return req.signal;
      },
    };
    return Object.assign(context, auth);
  }

  async function handler(req: Request, deps: Deps, info?: { remoteAddr?: unknown }) {
    const started = performance.now();
    const requestId = (req.headers.get("x-request-id") ?? "").slice(0, 128) ||
      crypto.randomUUID();
    let response: Response;
    try {
      const ctx = await prepare(req, deps, requestId, info);
      response = ctx instanceof Response ? ctx : await spec.handle(ctx, deps);
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

  const { handle: _handle, cors: _cors, ...shape } = spec;
  return { ...shape, handler };
}

export { jsonResponse };
