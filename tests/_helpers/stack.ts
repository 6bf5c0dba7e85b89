// A real stack for a test: a fresh database cloned from the migrated template (so each
// test file starts clean without restarting Postgres), the functions served over real
// HTTP on a loopback port, and helpers to sign bridge requests and mint user tokens.
import postgres from "postgres";
import * as jose from "jose";
import { type Config, loadConfig } from "../../supabase/functions/_shared/config.ts";
import {
  createDeps,
  type Deps,
  type DepsOverrides,
} from "../../supabase/functions/_shared/deps.ts";
import { createRouter } from "../../supabase/functions/_shared/router.ts";
import { endpoints } from "../../supabase/functions/_shared/routes.ts";
import type { Endpoint } from "../../supabase/functions/_shared/endpoint.ts";
import * as v from "valibot";
import * as schemas from "../../shared/api_schemas.ts";
import { issueDetail } from "../../supabase/functions/_shared/validate.ts";
import { createLogger } from "../../supabase/functions/_shared/logger.ts";
import { signedHeaders } from "../../shared/signing.ts";

export const TEST_HMAC_SECRET = "agentops-test-hmac-secret-0123456789abcdef";
export const TEST_JWT_SECRET = "super-secret-jwt-token-with-at-least-32-characters-long";

function adminUrl(): string {
  const url = Deno.env.get("TEST_DATABASE_ADMIN_URL");
  if (!url) {
    throw new Error(
      "Cannot start a test database: TEST_DATABASE_ADMIN_URL is not set; run the tests with `npm test`",
    );
  }
  return url;
}

/** Creates a fresh database from the migrated template; returns its URL. */
export async function freshDatabase(): Promise<string> {
  const admin = postgres(adminUrl(), { max: 1, onnotice: () => {} });
  const name = `t_${crypto.randomUUID().replaceAll("-", "").slice(0, 20)}`;
  const template = Deno.env.get("TEST_DATABASE_TEMPLATE") ?? "agentops_template";
  try {
    await admin.unsafe(`create database "${name}" template "${template}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  return url.toString();
}

export async function dropDatabase(url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  const admin = postgres(adminUrl(), { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
  } finally {
    await admin.end();
  }
}

export interface Stack {
  /** http://127.0.0.1:<port> */
  baseUrl: string;
  /** http://127.0.0.1:<port>/functions/v1 */
  functionsUrl: string;
  databaseUrl: string;
  /** a superuser connection to this test's database, for assertions */
  sql: postgres.Sql;
  deps: Deps;
  config: Config;
  close(): Promise<void>;
}

export interface StackOptions {
  env?: Record<string, string>;
  overrides?: DepsOverrides;
  /** keep the database (e.g. to restart the functions over it) */
  databaseUrl?: string;
  /** false: serve the endpoints as deployed, without the response-schema check below (a
   * benchmark measures the product, not the harness) */
  checkResponses?: boolean;
}

/** The endpoint, with every success body it sends checked against its documented response
 * schema: one that does not match becomes a 500 naming the mismatch, so every test that
 * reads a success also tests docs/openapi.json's response schemas. */
function answersItsSchema(endpoint: Endpoint): Endpoint {
  return {
    ...endpoint,
    async handler(req, deps, info) {
      const res = await endpoint.handler(req, deps, info);
      if (!res.ok || !res.headers.get("content-type")?.includes("application/json")) return res;
      const checked = v.safeParse(schemas[endpoint.response], await res.clone().json());
      if (checked.success) return res;
      const problem = `${endpoint.method} ${endpoint.name} answered ${res.status} with a body ` +
        `its response schema refuses: ${JSON.stringify(checked.issues.map(issueDetail))}`;
      console.error(problem);
      return Response.json({ error: { code: "internal", message: problem } }, { status: 500 });
    },
  };
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const databaseUrl = options.databaseUrl ?? await freshDatabase();
  const config = loadConfig({
    HMAC_SECRET: TEST_HMAC_SECRET,
    SUPABASE_JWT_SECRET: TEST_JWT_SECRET,
    DATABASE_URL: databaseUrl,
    SUPABASE_URL: "http://127.0.0.1:54321",
    LOG_LEVEL: Deno.env.get("TEST_LOG_LEVEL") ?? "error",
    APPROVAL_WAIT_POLL_MS: "200",
    ...options.env,
  });
  const deps = createDeps(config, {
    log: createLogger(config.LOG_LEVEL),
    ...options.overrides,
  });
  const router = createRouter(
    options.checkResponses === false ? endpoints : endpoints.map(answersItsSchema),
    deps,
  );
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req, info) => router(req, info),
  );
  const baseUrl = `http://127.0.0.1:${server.addr.port}`;
  const sql = postgres(databaseUrl, { max: 4, onnotice: () => {} });
  let closed = false;
  return {
    baseUrl,
    functionsUrl: `${baseUrl}/functions/v1`,
    databaseUrl,
    sql,
    deps,
    config,
    async close() {
      if (closed) return;
      closed = true;
      deps.waiter.shutdown();
      deps.pairing.shutdown();
      await server.shutdown();
      await deps.close();
      await sql.end({ timeout: 1 });
      if (!options.databaseUrl) await dropDatabase(databaseUrl);
    },
  };
}

/** Runs fn against a fresh stack with these settings, and closes it whatever happens. */
export async function withStack(
  env: Record<string, string>,
  fn: (stack: Stack) => Promise<void>,
): Promise<void> {
  const stack = await startStack({ env });
  try {
    await fn(stack);
  } finally {
    await stack.close();
  }
}

/** An HS256 access token like Supabase Auth's (aud authenticated), for userId. */
export async function mintUserToken(
  userId: string,
  options: { secret?: string; expiresIn?: string | number; audience?: string; issuer?: string } =
    {},
): Promise<string> {
  return await new jose.SignJWT({ role: "authenticated", is_anonymous: true })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(userId)
    .setAudience(options.audience ?? "authenticated")
    .setIssuer(options.issuer ?? "http://127.0.0.1:54321/auth/v1")
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? "1h")
    .sign(new TextEncoder().encode(options.secret ?? TEST_JWT_SECRET));
}

export interface BridgeCredentials {
  workspaceId: string;
  secret: string;
}

/** Sends a v2-signed bridge request (or v1 with version: 1). */
export async function bridgeFetch(
  stack: Pick<Stack, "functionsUrl">,
  creds: BridgeCredentials,
  method: "GET" | "POST",
  pathAndQuery: string,
  body?: unknown,
  options: {
    version?: 1 | 2;
    timestamp?: number;
    nonce?: string;
    rawBody?: string;
    headers?: Record<string, string>;
  } = {},
): Promise<Response> {
  const [path, query = ""] = pathAndQuery.split("?");
  const raw = options.rawBody ?? (body === undefined ? "" : JSON.stringify(body));
  const headers = await signedHeaders({
    workspaceId: creds.workspaceId,
    secret: creds.secret,
    method,
    path,
    query,
    body: raw,
    timestamp: options.timestamp,
    nonce: options.nonce,
    version: options.version,
  });
  if (method === "POST") headers["content-type"] = "application/json";
  return await fetch(`${stack.functionsUrl}${pathAndQuery}`, {
    method,
    headers: { ...headers, ...options.headers },
    body: method === "POST" ? raw : undefined,
  });
}

// deno-lint-ignore no-explicit-any
export type Json = any;

/** fetch + parsed JSON body. */
export async function fetchJson(
  input: string,
  init?: RequestInit,
): Promise<{ status: number; body: Json; headers: Headers }> {
  const res = await fetch(input, init);
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
}

/** Rate limits count hits in fixed windows aligned to the epoch (private.hit_rate_limit), so
 * a test that counts hits up to an exact refusal must not straddle two windows: when the
 * current minute (every hour window ends on a minute too) has less than `needMs` left, this
 * waits for the next one. A busy machine can take seconds per request. */
export async function clearOfRateWindowEdge(needMs = 20_000): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < needMs) await new Promise((resolve) => setTimeout(resolve, left + 250));
}
