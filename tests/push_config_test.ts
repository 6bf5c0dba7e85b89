// Push configuration is checked at startup: the legacy FCM server key is refused with the
// reason, a malformed service account or half an APNs key names the variable, and with no
// credentials the log provider is the default.
import { assert, assertEquals } from "./_helpers/assert.ts";
import { loadConfig } from "../supabase/functions/_shared/config.ts";
import { createPushSenders } from "../supabase/functions/_shared/push_senders.ts";
import { createLogger } from "../supabase/functions/_shared/logger.ts";

const BASE = {
  HMAC_SECRET: "agentops-test-hmac-secret-0123456789abcdef",
  DATABASE_URL: "postgresql://postgres:postgres@127.0.0.1:1/postgres",
};
const quiet = { fetch, log: createLogger("error", {}, () => {}) };

function thrown(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  throw new Error("expected an error");
}

Deno.test("the legacy FCM_SERVER_KEY is refused at startup with the reason", () => {
  const message = thrown(() => loadConfig({ ...BASE, FCM_SERVER_KEY: "AAAA1234:legacy" }));
  assert(message.includes("FCM_SERVER_KEY"), message);
  assert(/legacy FCM API, shut down by Google in 2024/.test(message), message);
  assert(message.includes("FCM_SERVICE_ACCOUNT_JSON"), message);
});

Deno.test("a malformed FCM_SERVICE_ACCOUNT_JSON fails at startup naming the variable", () => {
  for (const bad of ["{not json", JSON.stringify({ project_id: "p" })]) {
    const config = loadConfig({ ...BASE, FCM_SERVICE_ACCOUNT_JSON: bad });
    const message = thrown(() => createPushSenders(config, quiet));
    assert(message.startsWith("Invalid configuration: FCM_SERVICE_ACCOUNT_JSON"), message);
  }
});

Deno.test("half an APNs configuration fails at startup naming the missing variables", () => {
  const config = loadConfig({ ...BASE, APNS_KEY_ID: "ABC123DEFG", APNS_TEAM_ID: "TEAM123456" });
  const message = thrown(() => createPushSenders(config, quiet));
  assert(message.includes("APNS_PRIVATE_KEY, APNS_BUNDLE_ID"), message);
});

Deno.test("with no push credentials the log provider is the default", () => {
  const senders = createPushSenders(loadConfig(BASE), quiet);
  assertEquals(senders.mode, "log");
  assertEquals(senders.fcm, undefined);
  assertEquals(senders.apns, undefined);
});

Deno.test("APNS_ENV picks Apple's endpoint unless APNS_ENDPOINT overrides it", () => {
  const config = loadConfig(BASE);
  assertEquals(config.APNS_ENV, "production");
  assertEquals(config.FCM_ENDPOINT, "https://fcm.googleapis.com");
  assertEquals(config.PUSH_PROVIDER_TIMEOUT_MS, 10_000);
});

Deno.test("half a VAPID configuration fails at startup naming the missing variables", () => {
  const config = loadConfig({ ...BASE, VAPID_SUBJECT: "mailto:ops@example.com" });
  const message = thrown(() => createPushSenders(config, quiet));
  assert(message.includes("VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY"), message);
});

Deno.test("a malformed VAPID key fails at startup naming it; a good pair enables Web Push", () => {
  const vapid = {
    // RFC 8291 Appendix A's published P-256 test keys
    VAPID_PUBLIC_KEY:
      "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
    VAPID_PRIVATE_KEY: "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94",
    VAPID_SUBJECT: "mailto:ops@example.com",
  };
  const bad = loadConfig({ ...BASE, ...vapid, VAPID_PUBLIC_KEY: "not-a-key" });
  assert(thrown(() => createPushSenders(bad, quiet)).includes("VAPID_PUBLIC_KEY"));
  const senders = createPushSenders(loadConfig({ ...BASE, ...vapid }), quiet);
  assertEquals(senders.mode, "providers");
  assertEquals(senders.webpush?.name, "webpush");
});
