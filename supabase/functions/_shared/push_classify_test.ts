import { assertEquals } from "../../../tests/_helpers/assert.ts";
import { classifyFcmResponse, parseServiceAccount } from "./fcm.ts";
import { classifyApnsResponse } from "./apns.ts";
import { parseRetryAfter } from "./push_types.ts";

const fcmError = (
  status: number,
  statusName: string,
  errorCode?: string,
  extra: unknown[] = [],
) => ({
  error: {
    code: status,
    message: "m",
    status: statusName,
    details: [
      ...(errorCode
        ? [{ "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", errorCode }]
        : []),
      ...extra,
    ],
  },
});
const none = new Headers();

Deno.test("classifyFcmResponse() tells dead tokens from configuration errors and transient ones", () => {
  const r = (status: number, body: unknown, headers = none) =>
    classifyFcmResponse(status, body, headers, "tok").result;
  assertEquals(r(200, { name: "projects/p/messages/1" }), "sent");
  assertEquals(r(404, fcmError(404, "NOT_FOUND", "UNREGISTERED")), "dead_token");
  assertEquals(r(400, fcmError(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT")), "invalid_argument");
  assertEquals(r(403, fcmError(403, "PERMISSION_DENIED", "SENDER_ID_MISMATCH")), "config_error");
  assertEquals(r(401, fcmError(401, "UNAUTHENTICATED", "THIRD_PARTY_AUTH_ERROR")), "config_error");
  assertEquals(r(503, fcmError(503, "UNAVAILABLE", "UNAVAILABLE")), "retry");
  assertEquals(r(500, fcmError(500, "INTERNAL", "INTERNAL")), "retry");
  assertEquals(r(429, fcmError(429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED")), "retry");
  // a malformed message (field violations on the message) never blames the token
  assertEquals(
    r(400, {
      error: {
        code: 400,
        status: "INVALID_ARGUMENT",
        details: [{
          "@type": "type.googleapis.com/google.rpc.BadRequest",
          fieldViolations: [{ field: "message", description: "Unknown name" }],
        }],
      },
    }),
    "rejected",
  );
  const quota = classifyFcmResponse(
    429,
    fcmError(429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED"),
    new Headers({ "retry-after": "37" }),
    "tok",
  );
  assertEquals(quota.result === "retry" && quota.retry_after, 37);
});

Deno.test("classifyApnsResponse() clears on 410 with its timestamp and calls BadDeviceToken a configuration error", () => {
  const gone = classifyApnsResponse(
    410,
    { reason: "Unregistered", timestamp: 1764000000000 },
    none,
    "t",
  );
  assertEquals(gone.result, "dead_token");
  assertEquals(gone.result === "dead_token" && gone.unregistered_at, "2025-11-24T16:00:00.000Z");
  const bad = classifyApnsResponse(400, { reason: "BadDeviceToken" }, none, "t", "sandbox");
  assertEquals(bad.result, "config_error");
  assertEquals(/sandbox\/production mismatch \(APNS_ENV=sandbox/.test(bad.error ?? ""), true);
  assertEquals(
    classifyApnsResponse(429, { reason: "TooManyProviderTokenUpdates" }, none, "t").result,
    "retry",
  );
  assertEquals(
    classifyApnsResponse(403, { reason: "InvalidProviderToken" }, none, "t").result,
    "config_error",
  );
  assertEquals(
    classifyApnsResponse(503, { reason: "ServiceUnavailable" }, none, "t").result,
    "retry",
  );
  assertEquals(
    classifyApnsResponse(413, { reason: "PayloadTooLarge" }, none, "t").result,
    "rejected",
  );
  assertEquals(
    classifyApnsResponse(200, undefined, new Headers({ "apns-id": "x" }), "t").result,
    "sent",
  );
});

Deno.test("parseRetryAfter() reads delta-seconds and HTTP dates", () => {
  assertEquals(parseRetryAfter("120"), 120);
  assertEquals(parseRetryAfter(new Date(60_000).toUTCString(), 0), 60);
  assertEquals(parseRetryAfter("soon"), undefined);
  assertEquals(parseRetryAfter(null), undefined);
});

Deno.test("parseServiceAccount() unescapes the private key's newlines", () => {
  const sa = parseServiceAccount(JSON.stringify({
    project_id: "p",
    client_email: "a@p.iam.gserviceaccount.com",
    private_key: "-----BEGIN PRIVATE KEY-----\\nAAA\\n-----END PRIVATE KEY-----\\n",
    token_uri: "https://oauth2.googleapis.com/token",
  }));
  assertEquals(sa.private_key.split("\n").length, 4);
});
