// docs/openapi.json: the API reference (OpenAPI 3.1) generated from the endpoints
// themselves (supabase/functions/_shared/routes.ts: each defineEndpoint carries its summary,
// schemas, success status and error codes), the valibot schemas of shared/api_schemas.ts
// (through scripts/json_schema.ts) and the error model of docs/contract/api.md#errors, so the extension and the
// mobile app can generate their clients from it.
//   deno run -A scripts/gen_openapi.ts          rewrites docs/openapi.json
//   deno run -A scripts/gen_openapi.ts --check  fails when it is stale (tests/openapi_test.ts)
import type * as v from "valibot";
import * as schemas from "../shared/api_schemas.ts";
import { type Io, toJsonSchema } from "./json_schema.ts";
import { type ErrorCode, STATUS_BY_CODE } from "../supabase/functions/_shared/http_error.ts";
import { AUTH_ERRORS, type AuthKind } from "../supabase/functions/_shared/endpoint.ts";
import { endpoints } from "../supabase/functions/_shared/routes.ts";

export const OPENAPI_PATH = "docs/openapi.json";

const BODY_ERRORS: ErrorCode[] = [
  "invalid_json",
  "invalid_request",
  "payload_too_large",
  "unsupported_media_type",
];

/** The tag and security requirement of each auth kind. */
const AUTH_DOCS: Record<AuthKind, { tag: string; security: Record<string, string[]>[] }> = {
  none: { tag: "public", security: [] },
  // no credential needed; a signed request is verified (an empty requirement: optional)
  "bridge-optional": { tag: "public", security: [{}, { bridgeSignature: [] }] },
  bridge: { tag: "bridge", security: [{ bridgeSignature: [] }] },
  mobile: { tag: "mobile", security: [{ supabaseAuth: [] }] },
  dispatch: { tag: "dispatch", security: [{ dispatchSecret: [] }] },
};

/** The export name of each schema of shared/api_schemas.ts: its component name. */
export function schemaNames(): Map<v.GenericSchema, string> {
  const names = new Map<v.GenericSchema, string>();
  for (const [name, value] of Object.entries(schemas)) {
    if ((value as { kind?: string }).kind === "schema" && !names.has(value)) {
      names.set(value, name);
    }
  }
  return names;
}

const ERROR_CODES = Object.keys(STATUS_BY_CODE) as ErrorCode[];

export function buildOpenApi(): Record<string, unknown> {
  const names = schemaNames();
  const components: Record<string, unknown> = {};
  const ref = (schema: v.GenericSchema, io: Io, name = names.get(schema)) => {
    if (!name) {
      throw new Error("Cannot document a schema that shared/api_schemas.ts does not export");
    }
    components[name] = toJsonSchema(schema, io);
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
            description:
              "the schema's issues ({path, code, message}) for invalid_request; the stored result for " +
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
  for (const op of endpoints) {
    const errors = new Set<ErrorCode>([
      ...AUTH_ERRORS[op.auth],
      ...(op.body ? BODY_ERRORS : []),
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
        content: {
          "application/json": { schema: ref(schemas[op.response], "output", op.response) },
        },
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
      const q = toJsonSchema(schemas[op.query], "input") as {
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
      tags: [AUTH_DOCS[op.auth].tag],
      security: AUTH_DOCS[op.auth].security,
      ...(parameters.length ? { parameters } : {}),
      ...(op.body
        ? {
          requestBody: {
            required: true,
            content: { "application/json": { schema: ref(schemas[op.body], "input", op.body) } },
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
        "(docs/contract/api.md). Generated from the endpoints and shared/api_schemas.ts by " +
        "scripts/gen_openapi.ts; do " +
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
        dispatchSecret: {
          type: "http",
          scheme: "bearer",
          description: "PUSH_DISPATCH_SECRET, or the service role key when that is unset " +
            "(pg_cron sends it through pg_net).",
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
