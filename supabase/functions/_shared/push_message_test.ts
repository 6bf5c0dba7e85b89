import { assertEquals } from "../../../tests/_helpers/assert.ts";
import { apnsHeaders, apnsPayload, fcmMessage } from "./push_message.ts";
import type { PushJob } from "./push_types.ts";

const now = Date.parse("2026-11-25T12:00:00Z");
function job(overrides: Partial<PushJob> = {}): PushJob {
  return {
    id: 1,
    kind: "approval",
    device_id: "d",
    workspace_id: "w",
    approval_id: "a",
    run_id: "r",
    message: {
      title: "Approval needed · web",
      body: "rm -rf build",
      data: { type: "approval", approval_id: "a", n: 3 },
      collapse_id: "a",
      category: "AGENTOPS_APPROVAL",
      time_sensitive: true,
      priority: "high",
    },
    expires_at: "2026-11-25T12:10:00Z",
    attempts: 1,
    created_at: "2026-11-25T12:00:00Z",
    platform: "android",
    provider: "fcm",
    token: "tok",
    token_updated_at: null,
    ...overrides,
  };
}

Deno.test("fcmMessage() maps an approval to high priority, a TTL to expires_at and string data", () => {
  const m = fcmMessage(job(), now) as Record<string, Record<string, unknown>>;
  assertEquals(m.android, {
    priority: "high",
    ttl: "600s",
    collapse_key: "a",
    notification: { tag: "a" },
  });
  assertEquals(m.data, { type: "approval", approval_id: "a", n: "3" });
  assertEquals(m.notification, { title: "Approval needed · web", body: "rm -rf build" });
});

Deno.test("apnsHeaders() and apnsPayload() carry category, interruption level, expiry and collapse id", () => {
  assertEquals(apnsHeaders(job()), {
    "apns-push-type": "alert",
    "apns-priority": "10",
    "apns-expiration": String(Date.parse("2026-11-25T12:10:00Z") / 1000),
    "apns-collapse-id": "a",
  });
  const aps = apnsPayload(job()).aps as Record<string, unknown>;
  assertEquals(aps.category, "AGENTOPS_APPROVAL");
  assertEquals(aps["interruption-level"], "time-sensitive");
});

Deno.test("a silent message is a background push on iOS and a data-only message on Android", () => {
  const silent = job({
    kind: "approval_clear",
    message: { silent: true, data: { type: "approval_resolved" }, collapse_id: "a" },
  });
  assertEquals(apnsHeaders(silent)["apns-push-type"], "background");
  assertEquals(apnsHeaders(silent)["apns-priority"], "5");
  assertEquals(apnsPayload(silent), { aps: { "content-available": 1 }, type: "approval_resolved" });
  const m = fcmMessage(silent, now) as Record<string, unknown>;
  assertEquals(m.notification, undefined);
  assertEquals((m.android as Record<string, unknown>).notification, undefined);
});
