// docs/openapi.json: the API reference (OpenAPI 3.1) generated from the zod schemas in
// shared/api_schemas.ts (z.toJSONSchema) and the error model of SPEC section 4, so the
// extension and the mobile app can generate their clients from it.
//   deno run -A scripts/gen_openapi.ts          rewrites docs/openapi.json
//   deno run -A scripts/gen_openapi.ts --check  fails when it is stale (tests/openapi_test.ts)
import { z } from "zod";
import * as schemas from "../shared/api_schemas.ts";
import { type ErrorCode, STATUS_BY_CODE } from "../supabase/functions/_shared/http_error.ts";

export const OPENAPI_PATH = "docs/openapi.json";

type Auth = "none" | "bridge" | "mobile";
type SchemaName = keyof typeof schemas;

export interface Operation {
  name: string;
  method: "GET" | "POST";
  auth: Auth;
  summary: string;
  /** the path parameter of /<name>/{param} */
  param?: string;
  request?: SchemaName;
  query?: SchemaName;
  status: number;
  /** the response schema's export name; a plain object when it is not (yet) exported */
  response: string;
  /** error codes this endpoint answers beyond the ones every endpoint of its kind does */
  errors: ErrorCode[];
  description?: string;
  /** answers a bodiless 304 with its ETag when If-None-Match names the current version */
  notModified?: boolean;
}

/** Every endpoint of SPEC sections 4 and 8a. */
export const OPERATIONS: Operation[] = [
  {
    name: "pair-start",
    method: "POST",
    auth: "none",
    summary: "Start pairing a workspace (hook runner); returns its bridge secret and a pair token",
    request: "PairStartRequest",
    status: 201,
    response: "PairStartResponse",
    errors: ["unauthorized", "signature_expired", "replayed_nonce", "rate_limited"],
    description: "No auth; 10 a minute per client IP. Unsigned, it always makes a new " +
      "workspace. Signed like a bridge request (X-Workspace-Id, X-Timestamp, X-Nonce, " +
      "X-Signature[-Version]) with a workspace's current secret, the same machine_id + " +
      "workspace_fingerprint keep that workspace and get a new secret; a signature that " +
      "does not verify is 401.",
  },
  {
    name: "pair-complete",
    method: "POST",
    auth: "mobile",
    summary: "Complete pairing from the phone with the pair token",
    request: "PairCompleteRequest",
    status: 200,
    response: "PairCompleteResponse",
    errors: ["not_found", "rate_limited"],
    description: "An unknown, used or expired token is not_found with one message for all three.",
  },
  {
    name: "pair-status",
    method: "GET",
    auth: "bridge",
    summary: "Whether the workspace is paired; with wait, holds until the first device pairs",
    query: "PairStatusQuery",
    status: 200,
    response: "PairStatusResponse",
    errors: [],
  },
  {
    name: "bridge-event",
    method: "POST",
    auth: "bridge",
    summary: "Record a run event (idempotent on event_id)",
    request: "BridgeEventRequest",
    status: 202,
    response: "BridgeEventResponse",
    errors: ["forbidden", "conflict", "rate_limited"],
    description: "100 a minute and 1000 an hour per workspace. A retry of the same event_id " +
      "answers duplicate: true and stores nothing twice.",
  },
  {
    name: "bridge-approval-request",
    method: "POST",
    auth: "bridge",
    summary: "Ask the phone to approve a command",
    request: "BridgeApprovalRequest",
    status: 201,
    response: "BridgeApprovalResponse",
    errors: ["conflict", "no_device", "rate_limited"],
    description: "command ≤ 8 KiB (UTF-8). The same request_key in the same workspace answers " +
      "200 with the approval it already made. No paired device: 409 no_device at once.",
  },
  {
    name: "bridge-approval-wait",
    method: "GET",
    auth: "bridge",
    summary: "Long-poll an approval until it is decided, expires or the timeout passes",
    param: "approval_id",
    query: "ApprovalWaitQuery",
    status: 200,
    response: "ApprovalWaitResponse",
    errors: ["not_found"],
    description: "timeout is capped by APPROVAL_WAIT_MAX_SECONDS; PENDING means ask again.",
  },
  {
    name: "mobile-approval-decision",
    method: "POST",
    auth: "mobile",
    summary: "Approve or deny (with an optional note for the agent)",
    param: "approval_id",
    request: "ApprovalDecisionRequest",
    status: 200,
    response: "ApprovalDecisionResponse",
    errors: ["not_found", "already_decided", "expired"],
    description: "Exactly one decision wins; the same decision repeated answers 200 with the " +
      "stored result; a different one is 409 already_decided with it in details.",
  },
  {
    name: "mobile-device",
    method: "POST",
    auth: "mobile",
    summary: "Update a device (rotated push token, name)",
    request: "MobileDeviceRequest",
    status: 200,
    response: "DeviceResponse",
    errors: ["not_found"],
  },
  {
    name: "mobile-unpair",
    method: "POST",
    auth: "mobile",
    summary: "Unpair a device from a workspace",
    request: "MobileUnpairRequest",
    status: 200,
    response: "MobileUnpairResponse",
    errors: ["not_found"],
  },
  {
    name: "mobile-run-instruction",
    method: "POST",
    auth: "mobile",
    summary: "Queue an instruction for a run (SPEC section 8a)",
    param: "run_id",
    request: "RunInstructionRequest",
    status: 201,
    response: "RunInstructionResponse",
    errors: ["not_found", "rate_limited"],
  },
  {
    name: "bridge-run-instructions",
    method: "GET",
    auth: "bridge",
    summary: "Collect a run's pending instructions (marks them delivered)",
    param: "run_id",
    status: 200,
    response: "RunInstructionsResponse",
    errors: ["not_found"],
  },
  {
    name: "push-dispatch",
    method: "POST",
    auth: "none",
    summary: "Deliver due push outbox rows (called by pg_cron + pg_net on Supabase)",
    status: 200,
    response: "PushDispatchResponse",
    errors: ["unauthorized"],
    description: "Authorization: Bearer <PUSH_DISPATCH_SECRET> (or the service role key); " +
      "anything else is 401. Any body is ignored.",
  },
  {
    name: "push-decision",
    method: "POST",
    auth: "none",
    summary: "Approve or deny from the notification with its single-use decision_token",
    request: "PushDecisionRequest",
    status: 200,
    response: "PushDecisionResponse",
    errors: ["not_found", "already_decided", "expired", "rate_limited"],
    description: "No JWT: the decision_token an approval push carried (data.decision_token) is " +
      "the credential. Decides exactly as that device would through mobile-approval-decision. " +
      "A used, unknown or expired token is not_found with one message. Rate-limited per " +
      "client IP (RATE_LIMIT_PUSH_DECISION_PER_MINUTE) and per token " +
      "(RATE_LIMIT_PUSH_DECISION_TOKEN_PER_MINUTE).",
  },
  {
    name: "push-config",
    method: "GET",
    auth: "none",
    summary: "The VAPID public key a web client subscribes to Web Push with",
    status: 200,
    response: "PushConfigResponse",
    errors: [],
    description: "No auth. vapid_public_key is the applicationServerKey (base64url), null " +
      "when Web Push is not configured.",
  },
  {
    name: "mobile-rules",
    method: "POST",
    auth: "mobile",
    summary: "Make a rule in one of your workspaces (allow or deny, exact or prefix)",
    request: "RuleCreateRequest",
    status: 201,
    response: "RuleResponse",
    errors: ["not_found", "conflict"],
    description: "value is parsed into simple commands with the hook runner's parser; a " +
      "prefix rule is one simple command. At most 200 active rules per workspace (409 " +
      "conflict beyond). Writes RULE_CREATED on the workspace timeline.",
  },
  {
    name: "mobile-rules",
    method: "GET",
    auth: "mobile",
    summary: "A workspace's active rules, newest first",
    query: "RulesQuery",
    status: 200,
    response: "RulesListResponse",
    errors: ["not_found"],
  },
  {
    name: "mobile-rule-revoke",
    method: "POST",
    auth: "mobile",
    summary: "Revoke a rule (the hook runner stops applying it at its next refresh)",
    param: "rule_id",
    status: 200,
    response: "RuleResponse",
    errors: ["not_found"],
    description: "Writes RULE_REVOKED on the workspace timeline; revoking twice answers the " +
      "revoked rule again.",
  },
  {
    name: "bridge-rules",
    method: "GET",
    auth: "bridge",
    summary: "The workspace's active rules for the hook runner, with an ETag",
    status: 200,
    response: "BridgeRulesResponse",
    errors: [],
    notModified: true,
    description: "ETag is the quoted version (a hash of the active set, so an expiry " +
      "changes it too); If-None-Match with it answers 304 without a body.",
  },
  {
    name: "mobile-inbox",
    method: "GET",
    auth: "mobile",
    summary: "Pending and recently settled approvals across all your paired workspaces, " +
      "with a cursor; long-polls with wait and since",
    query: "MobileInboxQuery",
    status: 200,
    response: "MobileInboxResponse",
    errors: ["invalid_request", "rate_limited"],
    description: "With wait=N (1..30) and since=<cursor>, holds the request until the inbox " +
      "differs from that cursor (woken by NOTIFY approvals_changed or workspace_paired, the earliest expiry, or " +
      "a batched re-read) or N seconds pass. At most MOBILE_WAIT_MAX_PARKED_PER_USER (4) " +
      "parked long-polls per user and isolate: 429 beyond. docs/web-api.md.",
  },
  {
    name: "mobile-runs",
    method: "GET",
    auth: "mobile",
    summary: "Recent runs of one of your workspaces, or of all of them",
    query: "MobileRunsQuery",
    status: 200,
    response: "MobileRunsResponse",
    errors: ["invalid_request", "not_found"],
  },
  {
    name: "mobile-run-events",
    method: "GET",
    auth: "mobile",
    summary: "A run's timeline after a seq, with what the browser needs to verify the " +
      "hash chain; long-polls with wait",
    query: "MobileRunEventsQuery",
    status: 200,
    response: "MobileRunEventsResponse",
    errors: ["invalid_request", "not_found", "rate_limited"],
    description: "hash = hex(sha256(prev_hash|seq|type|event_ts|created_at|payload_text)), " +
      "prev_hash empty for seq 1 (docs/web-api.md).",
  },
  {
    name: "mobile-workspaces",
    method: "GET",
    auth: "mobile",
    summary: "Your devices and the workspaces paired with them",
    status: 200,
    response: "MobileWorkspacesResponse",
    errors: [],
  },
  {
    name: "dev-sign-in",
    method: "POST",
    auth: "none",
    summary: "Local stack only: a Supabase-shaped session for a dev user",
    request: "DevSignInRequest",
    status: 200,
    response: "DevSignInResponse",
    errors: ["not_found"],
    description: "404 (as if it did not exist) unless AGENTOPS_DEV_SIGN_IN=1, the JWT " +
      "secret is the Supabase CLI's local default, no JWKS is configured, SUPABASE_URL is " +
      "loopback and the caller is on loopback with no forwarding header. Never deployed " +
      "(no function folder). docs/web-api.md.",
  },
];

const COMMON_ERRORS: Record<Auth, ErrorCode[]> = {
  none: ["method_not_allowed", "unavailable", "internal"],
  bridge: [
    "unauthorized",
    "signature_expired",
    "replayed_nonce",
    "method_not_allowed",
    "unavailable",
    "internal",
  ],
  mobile: ["unauthorized", "method_not_allowed", "unavailable", "internal"],
};
const BODY_ERRORS: ErrorCode[] = [
  "invalid_json",
  "invalid_request",
  "payload_too_large",
  "unsupported_media_type",
];

function jsonSchema(schema: z.ZodType, io: "input" | "output"): Record<string, unknown> {
  const out = z.toJSONSchema(schema, { io, unrepresentable: "any" }) as Record<string, unknown>;
  delete out.$schema;
  return out;
}

const ERROR_CODES = (Object.keys(STATUS_BY_CODE) as ErrorCode[]).filter((c) =>
  c !== "not_implemented"
);

export function buildOpenApi(): Record<string, unknown> {
  const registry = schemas as unknown as Record<string, z.ZodType | undefined>;
  const components: Record<string, unknown> = {};
  const ref = (name: string, io: "input" | "output") => {
    const schema = registry[name];
    if (!schema) {
      return { type: "object", description: `${name} (not yet in shared/api_schemas.ts)` };
    }
    components[name] = jsonSchema(schema, io);
    return { $ref: `#/components/schemas/${name}` };
  };
  components.Error = {
    type: "object",
    properties: {
      error: {
        type: "object",
        properties: {
          code: { type: "string", enum: ERROR_CODES },
          message: { type: "string" },
          details: {
            description: "zod issues for invalid_request; the stored result for " +
              "already_decided; retry_after for rate_limited",
          },
        },
        required: ["code", "message"],
        additionalProperties: false,
      },
    },
    required: ["error"],
    additionalProperties: false,
  };
  const paths: Record<string, unknown> = {};
  for (const op of OPERATIONS) {
    const errors = new Set<ErrorCode>([
      ...COMMON_ERRORS[op.auth],
      ...(op.request ? BODY_ERRORS : []),
      ...(op.query ? ["invalid_request" as const] : []),
      ...(op.param ? ["not_found" as const] : []),
      ...op.errors,
    ]);
    const byStatus = new Map<number, ErrorCode[]>();
    for (const code of ERROR_CODES.filter((c) => errors.has(c))) {
      const status = STATUS_BY_CODE[code];
      byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
    }
    const responses: Record<string, unknown> = {
      [String(op.status)]: {
        description: "Success",
        headers: { "x-request-id": { $ref: "#/components/headers/RequestId" } },
        content: { "application/json": { schema: ref(op.response, "output") } },
      },
    };
    if (op.notModified) {
      responses["304"] = {
        description: "Not modified: If-None-Match names the current version (no body)",
        headers: {
          "x-request-id": { $ref: "#/components/headers/RequestId" },
          etag: { schema: { type: "string" }, description: "the version, quoted" },
        },
      };
    }
    for (const [status, codes] of [...byStatus].sort((a, b) => a[0] - b[0])) {
      const headers: Record<string, unknown> = {
        "x-request-id": { $ref: "#/components/headers/RequestId" },
      };
      if (status === 429 || status === 503) {
        headers["retry-after"] = { $ref: "#/components/headers/RetryAfter" };
      }
      responses[String(status)] = {
        description: `error.code: ${codes.join(", ")}`,
        headers,
        content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
      };
    }
    const parameters: unknown[] = [];
    if (op.param) {
      parameters.push({
        name: op.param,
        in: "path",
        required: true,
        schema: { type: "string", format: "uuid" },
      });
    }
    if (op.query) {
      const q = jsonSchema(registry[op.query]!, "input") as {
        properties?: Record<string, unknown>;
        required?: string[];
      };
      for (const [name, schema] of Object.entries(q.properties ?? {})) {
        parameters.push({
          name,
          in: "query",
          required: q.required?.includes(name) ?? false,
          schema,
        });
      }
    }
    const operation: Record<string, unknown> = {
      operationId: op.name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()),
      summary: op.summary,
      ...(op.description ? { description: op.description } : {}),
      tags: [op.auth === "none" ? "public" : op.auth],
      security: op.auth === "bridge"
        ? [{ bridgeSignature: [] }]
        : op.auth === "mobile"
        ? [{ supabaseAuth: [] }]
        : [],
      ...(parameters.length ? { parameters } : {}),
      ...(op.request
        ? {
          requestBody: {
            required: true,
            content: { "application/json": { schema: ref(op.request, "input") } },
          },
        }
        : {}),
      responses,
    };
    const path = op.param ? `/${op.name}/{${op.param}}` : `/${op.name}`;
    // One path may answer several methods (GET and POST /mobile-rules).
    paths[path] = {
      ...(paths[path] as Record<string, unknown> | undefined),
      [op.method.toLowerCase()]: operation,
    };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "AgentOps backend",
      version: "1.0.0",
      description: "Supabase Edge Functions for coding-agent approvals, run events and push " +
        "(SPEC section 4). Generated from shared/api_schemas.ts by scripts/gen_openapi.ts; do " +
        "not edit by hand. Every error is {error: {code, message, details?}}; bodies over " +
        "64 KiB are refused (413); unknown fields are rejected; every response carries " +
        "x-request-id.",
    },
    servers: [
      { url: "http://127.0.0.1:54321/functions/v1", description: "local (npm run dev)" },
      {
        url: "https://{project}.supabase.co/functions/v1",
        variables: { project: { default: "your-project-ref" } },
      },
    ],
    paths,
    components: {
      schemas: Object.fromEntries(
        Object.entries(components).sort(([a], [b]) => a.localeCompare(b)),
      ),
      headers: {
        RequestId: { description: "echoed when the client sent one", schema: { type: "string" } },
        RetryAfter: { description: "seconds to wait", schema: { type: "integer" } },
      },
      securitySchemes: {
        bridgeSignature: {
          type: "apiKey",
          in: "header",
          name: "X-Signature",
          description: "HMAC-SHA256 (hex) with the workspace's bridge secret, plus headers " +
            "X-Workspace-Id, X-Timestamp (unix ms, ±300 s), X-Nonce (8–128 [A-Za-z0-9_-], " +
            "single use for 600 s) and X-Signature-Version: 2. v2 signs " +
            "`v2\\n{METHOD}\\n{path}\\n{query}\\n{timestamp}\\n{nonce}\\n{hex(sha256(rawBody))}`; " +
            "v1 (no version header) signs `{timestamp}:{nonce}:{rawBody}`. See shared/signing.ts.",
        },
        supabaseAuth: {
          type: "http",
          scheme: "bearer",
          bearerFormat: "JWT",
          description: "A Supabase Auth access token (anonymous sign-in is enough).",
        },
      },
    },
  };
}

export function renderOpenApi(): string {
  return JSON.stringify(buildOpenApi(), null, 2) + "\n";
}

if (import.meta.main) {
  const fresh = renderOpenApi();
  if (Deno.args.includes("--check")) {
    const current = await Deno.readTextFile(OPENAPI_PATH).catch(() => "");
    if (current !== fresh) {
      console.error(`${OPENAPI_PATH} is stale: run deno run -A scripts/gen_openapi.ts`);
      Deno.exit(1);
    }
  } else {
    await Deno.mkdir("docs", { recursive: true });
    await Deno.writeTextFile(OPENAPI_PATH, fresh);
    console.error(`wrote ${OPENAPI_PATH}`);
  }
}
