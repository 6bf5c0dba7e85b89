import { assert, assertEquals } from "../../../tests/_helpers/assert.ts";
import { loadConfig, parseConfig } from "./config.ts";

function thrown(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("did not throw");
}

const BASE = { HMAC_SECRET: "x".repeat(32), DATABASE_URL: "postgres://u@127.0.0.1:5432/db" };

Deno.test("loadConfig() fills every default and drops variables it does not know", () => {
  const config = loadConfig({ ...BASE, UNRELATED: "1", LOG_LEVEL: "" });
  assertEquals(config.SUPABASE_URL, "http://127.0.0.1:54321");
  assertEquals(config.APPROVAL_WAIT_MAX_SECONDS, 90);
  assertEquals(config.APPROVAL_WAIT_LISTEN, true);
  assertEquals(config.AGENTOPS_DEV_SIGN_IN, false);
  assertEquals(config.LOG_LEVEL, "info");
  assertEquals(config.APNS_ENV, "production");
  assertEquals(config.BRIDGE_SIGNATURE_MIN_VERSION, 1);
  assertEquals(config.DB_POOL_MAX, 10);
  assertEquals(config.SUPABASE_DB_URL, BASE.DATABASE_URL);
  assertEquals(config.APPROVAL_REMIND_AFTER_SECONDS, undefined);
  assert(!("UNRELATED" in config));
});

Deno.test("loadConfig() parses integers, booleans, enums, trimmed strings and URLs", () => {
  const config = loadConfig({
    ...BASE,
    APPROVAL_WAIT_MAX_SECONDS: "120",
    APPROVAL_WAIT_LISTEN: "0",
    AGENTOPS_DEV_SIGN_IN: "true",
    LOG_LEVEL: "debug",
    SUPABASE_JWT_SECRET: "  secret  ",
    VAPID_SUBJECT: "   ",
    CLIENT_IP_HEADER: "X-Forwarded-For",
    APNS_ENDPOINT: "http://127.0.0.1:9/",
  });
  assertEquals(config.APPROVAL_WAIT_MAX_SECONDS, 120);
  assertEquals(config.APPROVAL_WAIT_LISTEN, false);
  assertEquals(config.AGENTOPS_DEV_SIGN_IN, true);
  assertEquals(config.LOG_LEVEL, "debug");
  assertEquals(config.SUPABASE_JWT_SECRET, "secret");
  assertEquals(config.VAPID_SUBJECT, undefined);
  assertEquals(config.CLIENT_IP_HEADER, "x-forwarded-for");
  assertEquals(config.APNS_ENDPOINT, "http://127.0.0.1:9/");
});

Deno.test("parseConfig() names every bad variable and loadConfig() throws them all", () => {
  const bad = {
    HMAC_SECRET: "short",
    APPROVAL_WAIT_MAX_SECONDS: "121",
    PORT: "1.5",
    APPROVAL_WAIT_LISTEN: "yes",
    LOG_LEVEL: "loud",
    FCM_ENDPOINT: "not a url",
  };
  const result = parseConfig({ ...BASE, ...bad });
  assertEquals(result.issues?.map((i) => i.path).sort(), Object.keys(bad).sort());
  const message = thrown(() => loadConfig({ ...BASE, ...bad }));
  for (const name of Object.keys(bad)) assert(message.includes(`${name}: `), message);
  assert(message.startsWith("Invalid configuration: "), message);
});

Deno.test("loadConfig() needs HMAC_SECRET and a database URL", () => {
  assert(thrown(() => loadConfig({ DATABASE_URL: BASE.DATABASE_URL })).includes("HMAC_SECRET: "));
  assert(
    thrown(() => loadConfig({ HMAC_SECRET: BASE.HMAC_SECRET })).includes(
      "DATABASE_URL or SUPABASE_DB_URL must be set",
    ),
  );
  const config = loadConfig({ HMAC_SECRET: BASE.HMAC_SECRET, SUPABASE_DB_URL: "postgres://x/y" });
  assertEquals(config.DATABASE_URL, "postgres://x/y");
});
