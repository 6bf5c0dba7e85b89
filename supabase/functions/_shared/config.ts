// Environment configuration (docs/contract/configuration.md): parsed once per isolate; a missing or
// malformed variable fails with a message naming it. Plain checks, not a schema library: the config is
// read on every cold start, and zod's import alone cost more than the whole budget of a
// cold start against a hello-world Deno.serve (issue 21, bench/FINDINGS.md).
import {
  connectionBudgetIssues,
  DEFAULT_LISTEN_IDLE_CLOSE_SECONDS,
  defaultPoolMax,
} from "./connection_budget.ts";

/** One variable's parser: its value, or a thrown Bad naming what is wrong. */
type Field<T> = (raw: string | undefined) => T;
class Bad {
  constructor(readonly message: string) {}
}

function optionalInt(min = 0, max = Number.MAX_SAFE_INTEGER): Field<number | undefined> {
  return (raw) => {
    if (raw === undefined) return undefined;
    const n = Number(raw.trim() === "" ? NaN : raw);
    if (!Number.isInteger(n)) throw new Bad(`must be an integer, got "${raw}"`);
    if (n < min || n > max) throw new Bad(`must be from ${min} to ${max}, got ${n}`);
    return n;
  };
}
const intFrom = (def: number, min = 0, max = Number.MAX_SAFE_INTEGER): Field<number> => {
  const parse = optionalInt(min, max);
  return (raw) => parse(raw) ?? def;
};
/** blank after trimming, or absent: undefined */
const optionalString: Field<string | undefined> = (raw) => raw?.trim() || undefined;
const nonEmpty: Field<string | undefined> = (raw) => raw;
function optionalUrl(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  try {
    new URL(raw);
  } catch {
    throw new Bad(`must be a URL, got "${raw}"`);
  }
  return raw;
}
const urlFrom = (def: string): Field<string> => (raw) => optionalUrl(raw) ?? def;
function oneOf<const T extends readonly string[]>(values: T, def: T[number]): Field<T[number]> {
  return (raw) => {
    if (raw === undefined) return def;
    if (!values.includes(raw)) {
      throw new Bad(`must be one of ${values.map((v) => `"${v}"`).join(", ")}, got "${raw}"`);
    }
    return raw;
  };
}
const boolFrom = (def: boolean): Field<boolean> => {
  const parse = oneOf(["true", "false", "1", "0"], def ? "true" : "false");
  return (raw) => ["true", "1"].includes(parse(raw));
};
const hmacSecret: Field<string> = (raw) => {
  if (raw === undefined) throw new Bad("must be set");
  if (new TextEncoder().encode(raw).length < 32) throw new Bad("must be at least 32 bytes");
  return raw;
};
const legacyFcmKey: Field<undefined> = (raw) => {
  if (raw === undefined) return undefined;
  throw new Bad(
    "is the legacy FCM API, shut down by Google in 2024; set " +
      "FCM_SERVICE_ACCOUNT_JSON (HTTP v1) instead",
  );
};

const FIELDS = {
  SUPABASE_URL: urlFrom("http://127.0.0.1:54321"),
  DATABASE_URL: nonEmpty,
  SUPABASE_DB_URL: nonEmpty,
  HMAC_SECRET: hmacSecret,
  SUPABASE_JWT_SECRET: optionalString,
  SUPABASE_JWKS: optionalString,
  FCM_SERVICE_ACCOUNT_JSON: optionalString,
  FCM_ENDPOINT: urlFrom("https://fcm.googleapis.com"),
  FCM_SERVER_KEY: legacyFcmKey,
  APNS_ENV: oneOf(["production", "sandbox"], "production"),
  APNS_ENDPOINT: optionalUrl,
  APNS_PRIVATE_KEY: optionalString,
  APNS_KEY_ID: optionalString,
  APNS_TEAM_ID: optionalString,
  APNS_BUNDLE_ID: optionalString,
  VAPID_PUBLIC_KEY: optionalString,
  VAPID_PRIVATE_KEY: optionalString,
  VAPID_SUBJECT: optionalString,
  PUSH_PROVIDER_TIMEOUT_MS: intFrom(10_000, 100, 120_000),
  PUSH_DISPATCH_SECRET: optionalString,
  SUPABASE_SERVICE_ROLE_KEY: optionalString,
  APPROVAL_WAIT_POLL_MS: intFrom(1000, 50, 60_000),
  APPROVAL_WAIT_MAX_SECONDS: intFrom(90, 0, 120),
  APPROVAL_WAIT_LISTEN: boolFrom(true),
  /** seconds after the request when a still-pending approval is pushed again (default: half
   * its lifetime, at least 30 s) */
  APPROVAL_REMIND_AFTER_SECONDS: optionalInt(1, 3600),
  /** pair-status?wait: the batched re-read's interval for every parked request */
  PAIR_STATUS_POLL_MS: intFrom(2000, 50, 60_000),
  /** pair-status?wait: parked requests per workspace and isolate at most (429 beyond) */
  PAIR_STATUS_MAX_PARKED_PER_WORKSPACE: intFrom(4, 1, 1000),
  /** mobile-inbox?wait, mobile-run-events?wait: the batched re-read's interval for every
   * parked request (NOTIFY approvals_changed wakes them sooner) */
  MOBILE_WAIT_POLL_MS: intFrom(1000, 50, 60_000),
  /** mobile-inbox?wait, mobile-run-events?wait: parked requests per user and isolate at most */
  MOBILE_WAIT_MAX_PARKED_PER_USER: intFrom(4, 1, 1000),
  /** mobile-inbox?wait, mobile-run-events?wait: parked requests per isolate at most */
  MOBILE_WAIT_MAX_PARKED: intFrom(5000, 1, 1_000_000),
  /** POST /dev-sign-in on the local stack only (docs/web-api.md: every condition) */
  AGENTOPS_DEV_SIGN_IN: boolFrom(false),
  BRIDGE_SIGNATURE_MIN_VERSION: intFrom(1, 1, 2),
  EVENT_RETENTION_DAYS: optionalInt(1),
  LOG_LEVEL: oneOf(["debug", "info", "warn", "error"], "info"),
  PORT: intFrom(54321, 0, 65535),
  RATE_LIMIT_EVENTS_PER_MINUTE: intFrom(100, 1),
  RATE_LIMIT_EVENTS_PER_HOUR: intFrom(1000, 1),
  RATE_LIMIT_APPROVALS_PER_MINUTE: intFrom(10, 1),
  RATE_LIMIT_PAIR_START_PER_MINUTE: intFrom(10, 1),
  RATE_LIMIT_PAIR_COMPLETE_PER_MINUTE: intFrom(10, 1),
  RATE_LIMIT_INSTRUCTIONS_PER_MINUTE: intFrom(30, 1),
  RATE_LIMIT_PUSH_DECISION_PER_MINUTE: intFrom(30, 1),
  RATE_LIMIT_PUSH_DECISION_TOKEN_PER_MINUTE: intFrom(5, 1),
  /** the header a trusted proxy sets to the client's address (unset: the socket's peer);
   * client_ip.ts says which one on hosted Supabase and why */
  CLIENT_IP_HEADER: (raw: string | undefined) => optionalString(raw)?.toLowerCase(),
  /** how many trusted proxies append to CLIENT_IP_HEADER: read that many from the right */
  CLIENT_IP_TRUSTED_HOPS: intFrom(1, 1, 16),
  /** a request body must arrive whole within this long (slow or stalled bodies: 400) */
  BODY_READ_TIMEOUT_MS: intFrom(30_000, 100, 600_000),
  /** unset: 1 on a hosted project, 10 elsewhere (defaultPoolMax) */
  DB_POOL_MAX: optionalInt(1, 500),
  LISTEN_IDLE_CLOSE_SECONDS: intFrom(DEFAULT_LISTEN_IDLE_CLOSE_SECONDS, 0, 3600),
};

type Fields = { [K in keyof typeof FIELDS]: ReturnType<(typeof FIELDS)[K]> };

export type Config = Omit<Fields, "DB_POOL_MAX" | "DATABASE_URL" | "SUPABASE_DB_URL"> & {
  DB_POOL_MAX: number;
  DATABASE_URL: string;
  SUPABASE_DB_URL: string;
};

/** A problem with one variable (path: its name). */
interface ConfigIssue {
  path: string;
  message: string;
}

/** The configuration of `env` (blank values count as unset), or every problem with it. */
export function parseConfig(
  env: Record<string, string | undefined>,
): { config: Config; issues?: undefined } | { config?: undefined; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const fields: Record<string, unknown> = {};
  for (const [name, parse] of Object.entries(FIELDS) as [string, Field<unknown>][]) {
    const raw = env[name] === "" ? undefined : env[name];
    try {
      fields[name] = parse(raw);
    } catch (error) {
      if (!(error instanceof Bad)) throw error;
      issues.push({ path: name, message: error.message });
    }
  }
  if (issues.length) return { issues };
  const parsed = fields as Fields;
  const withPool = { ...parsed, DB_POOL_MAX: parsed.DB_POOL_MAX ?? defaultPoolMax(parsed) };
  // Before the fallback below: whether DATABASE_URL itself was set matters on hosted.
  issues.push(...connectionBudgetIssues(withPool));
  const databaseUrl = withPool.DATABASE_URL ?? withPool.SUPABASE_DB_URL;
  if (databaseUrl === undefined) {
    issues.push({ path: "DATABASE_URL", message: "DATABASE_URL or SUPABASE_DB_URL must be set" });
  }
  if (issues.length || databaseUrl === undefined) return { issues };
  return {
    config: {
      ...withPool,
      DATABASE_URL: databaseUrl,
      SUPABASE_DB_URL: withPool.SUPABASE_DB_URL ?? databaseUrl,
    },
  };
}

/** Parses the environment, or throws an Error naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = Deno.env.toObject()): Config {
  const result = parseConfig(env);
  if (result.issues) {
    const lines = result.issues.map((i) => `${i.path}: ${i.message}`);
    throw new Error(`Invalid configuration: ${lines.join("; ")}`);
  }
  return result.config;
}
