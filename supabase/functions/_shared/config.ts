// Environment configuration (SPEC section 9): parsed once with zod; a missing or
// malformed variable fails with a message naming it.
import { z } from "zod";
import {
  connectionBudgetIssues,
  DEFAULT_LISTEN_IDLE_CLOSE_SECONDS,
  DEFAULT_POOL_MAX,
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
  PUSH_PROVIDER_TIMEOUT_MS: intFrom(10_000, 100, 120_000),
  PUSH_DISPATCH_SECRET: optionalString,
  SUPABASE_SERVICE_ROLE_KEY: optionalString,
  APPROVAL_WAIT_POLL_MS: intFrom(1000, 50, 60_000),
  APPROVAL_WAIT_MAX_SECONDS: intFrom(90, 0, 120),
  APPROVAL_WAIT_LISTEN: boolFrom(true),
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
  DB_POOL_MAX: intFrom(DEFAULT_POOL_MAX, 1, 500),
  LISTEN_IDLE_CLOSE_SECONDS: intFrom(DEFAULT_LISTEN_IDLE_CLOSE_SECONDS, 0, 3600),
}).superRefine((c, ctx) => {
  // Before the fallback below: whether DATABASE_URL itself was set matters on hosted.
  for (const issue of connectionBudgetIssues(c)) {
    ctx.addIssue({ code: "custom", path: [issue.path], message: issue.message });
  }
}).transform((c) => {
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
