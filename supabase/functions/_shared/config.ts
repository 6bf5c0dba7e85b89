// Environment configuration (docs/contract/configuration.md): parsed once with zod; a missing or
// malformed variable fails with a message naming it.
import { z } from "zod";
import {
  connectionBudgetIssues,
  DEFAULT_LISTEN_IDLE_CLOSE_SECONDS,
  defaultPoolMax,
} from "./connection_budget.ts";

const intFrom = (def: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().int().min(min).max(max).default(def);
const optionalString = z.string().trim().min(1).optional().catch(undefined);
const boolFrom = (def: boolean) =>
  z.enum(["true", "false", "1", "0"]).default(def ? "true" : "false").transform((v) =>
    v === "true" || v === "1"
  );

export const ConfigSchema = z.object({
  SUPABASE_URL: z.url().default("http://127.0.0.1:54321"),
  DATABASE_URL: z.string().min(1).optional(),
  SUPABASE_DB_URL: z.string().min(1).optional(),
  HMAC_SECRET: z.string().refine((s) => new TextEncoder().encode(s).length >= 32, {
    message: "must be at least 32 bytes",
  }),
  SUPABASE_JWT_SECRET: optionalString,
  SUPABASE_JWKS: optionalString,
  FCM_SERVICE_ACCOUNT_JSON: optionalString,
  FCM_ENDPOINT: z.url().default("https://fcm.googleapis.com"),
  FCM_SERVER_KEY: z.undefined({
    error: "is the legacy FCM API, shut down by Google in 2024; set " +
      "FCM_SERVICE_ACCOUNT_JSON (HTTP v1) instead",
  }).optional(),
  APNS_ENV: z.enum(["production", "sandbox"]).default("production"),
  APNS_ENDPOINT: z.url().optional(),
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
  APPROVAL_REMIND_AFTER_SECONDS: z.coerce.number().int().min(1).max(3600).optional(),
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
  BRIDGE_SIGNATURE_MIN_VERSION: z.coerce.number().int().min(1).max(2).default(1),
  EVENT_RETENTION_DAYS: z.coerce.number().int().min(1).optional(),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
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
  CLIENT_IP_HEADER: optionalString.transform((v) => v?.toLowerCase()),
  /** how many trusted proxies append to CLIENT_IP_HEADER: read that many from the right */
  CLIENT_IP_TRUSTED_HOPS: intFrom(1, 1, 16),
  /** a request body must arrive whole within this long (slow or stalled bodies: 400) */
  BODY_READ_TIMEOUT_MS: intFrom(30_000, 100, 600_000),
  /** unset: 1 on a hosted project, 10 elsewhere (defaultPoolMax) */
  DB_POOL_MAX: z.coerce.number().int().min(1).max(500).optional(),
  LISTEN_IDLE_CLOSE_SECONDS: intFrom(DEFAULT_LISTEN_IDLE_CLOSE_SECONDS, 0, 3600),
}).transform((c) => ({ ...c, DB_POOL_MAX: c.DB_POOL_MAX ?? defaultPoolMax(c) })).superRefine(
  (c, ctx) => {
    // Before the fallback below: whether DATABASE_URL itself was set matters on hosted.
    for (const issue of connectionBudgetIssues(c)) {
      ctx.addIssue({ code: "custom", path: [issue.path], message: issue.message });
    }
  },
).transform((c) => {
  const databaseUrl = c.DATABASE_URL ?? c.SUPABASE_DB_URL;
  return { ...c, DATABASE_URL: databaseUrl, SUPABASE_DB_URL: c.SUPABASE_DB_URL ?? databaseUrl };
}).refine((c) => c.DATABASE_URL !== undefined, {
  message: "DATABASE_URL or SUPABASE_DB_URL must be set",
  path: ["DATABASE_URL"],
});

export type Config = z.infer<typeof ConfigSchema> & {
  DATABASE_URL: string;
  SUPABASE_DB_URL: string;
};

/** Parses the environment, or throws an Error naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = Deno.env.toObject()): Config {
  const blanked = Object.fromEntries(
    Object.entries(env).filter(([, v]) => v !== undefined && v !== ""),
  );
  const result = ConfigSchema.safeParse(blanked);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `${i.path.join(".") || "env"}: ${i.message}`);
    throw new Error(`Invalid configuration: ${lines.join("; ")}`);
  }
  return result.data as Config;
}
