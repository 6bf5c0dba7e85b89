import { assert, assertEquals } from "../../../tests/_helpers/assert.ts";
import { fromBase64Url, subscriptionProblem, toBase64Url } from "@shared/push_subscription.ts";
import {
  checkVapidKeys,
  classifyWebPushResponse,
  encryptAes128gcm,
  webPushHeaders,
} from "./webpush.ts";
import type { PushJob } from "./push_types.ts";

// RFC 8291 Appendix A (published test data)
const RFC = {
  plaintext: "When I grow up, I want to be a watermelon",
  uaPublic:
    "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
  asPublic:
    "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8",
  asPrivate: "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw",
  salt: "DGv6ra1nlYgDCS1FRnbzlw",
  auth: "BTBZMqHH6r4Tts7J_aSIgg",
  body: "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27ml" +
    "mlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPT" +
    "pK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN",
};

Deno.test("encryptAes128gcm() reproduces the RFC 8291 example byte for byte", async () => {
  const asPublic = fromBase64Url(RFC.asPublic)!;
  const jwk = {
    kty: "EC",
    crv: "P-256",
    x: toBase64Url(asPublic.slice(1, 33)),
    y: toBase64Url(asPublic.slice(33)),
  };
  const localKeys = {
    privateKey: await crypto.subtle.importKey(
      "jwk",
      { ...jwk, d: RFC.asPrivate },
      { name: "ECDH", namedCurve: "P-256" },
      false,
      ["deriveBits"],
    ),
    publicKey: await crypto.subtle.importKey(
      "raw",
      asPublic,
      { name: "ECDH", namedCurve: "P-256" },
      true,
      [],
    ),
  };
  const out = await encryptAes128gcm(new TextEncoder().encode(RFC.plaintext), {
    p256dh: fromBase64Url(RFC.uaPublic)!,
    auth: fromBase64Url(RFC.auth)!,
  }, { salt: fromBase64Url(RFC.salt)!, localKeys });
  assertEquals(toBase64Url(out), RFC.body);
});

Deno.test("checkVapidKeys() names the variable that is malformed", () => {
  const good = { publicKey: RFC.uaPublic, privateKey: RFC.asPrivate, subject: "mailto:a@b.c" };
  checkVapidKeys(good);
  for (
    const [bad, name] of [
      [{ ...good, publicKey: "abc" }, "VAPID_PUBLIC_KEY"],
      [{ ...good, privateKey: "abc" }, "VAPID_PRIVATE_KEY"],
      [{ ...good, subject: "ops@example.com" }, "VAPID_SUBJECT"],
    ] as const
  ) {
    let message = "";
    try {
      checkVapidKeys(bad);
    } catch (error) {
      message = String(error);
    }
    assert(message.includes(name), message);
  }
});

Deno.test("subscriptionProblem() accepts a browser's subscription and refuses others", () => {
  const keys = { p256dh: RFC.uaPublic, auth: RFC.auth };
  const ok = JSON.stringify({ endpoint: "https://fcm.googleapis.com/fcm/send/x", keys });
  assertEquals(subscriptionProblem(ok), undefined);
  for (
    const bad of [
      "not json",
      JSON.stringify({ endpoint: "http://push.example.com/x", keys }),
      JSON.stringify({ endpoint: "https://push.example.com/x", keys: { ...keys, auth: "AA" } }),
      JSON.stringify({ endpoint: "https://push.example.com/x", keys: { ...keys, p256dh: "AA" } }),
      JSON.stringify({ endpoint: "https://u:p@push.example.com/x", keys }),
    ]
  ) {
    assert(subscriptionProblem(bad) !== undefined, bad);
  }
});

Deno.test("classifyWebPushResponse() treats 404 and 410 as a dead subscription", () => {
  const h = new Headers({ "retry-after": "7" });
  assertEquals(classifyWebPushResponse(201, undefined, h, "t").result, "sent");
  assertEquals(classifyWebPushResponse(410, undefined, h, "t").result, "dead_token");
  assertEquals(classifyWebPushResponse(404, undefined, h, "t").result, "dead_token");
  const retry = classifyWebPushResponse(429, undefined, h, "t");
  assertEquals(retry.result === "retry" && retry.retry_after, 7);
  assertEquals(classifyWebPushResponse(503, undefined, h, "t").result, "retry");
  assertEquals(classifyWebPushResponse(403, undefined, h, "t").result, "config_error");
  assertEquals(classifyWebPushResponse(413, undefined, h, "t").result, "rejected");
});

Deno.test("webPushHeaders() sets TTL to the expiry, high urgency and a Topic for approvals", () => {
  const job = {
    kind: "approval",
    expires_at: new Date(1_000_000 + 90_000).toISOString(),
    message: { collapse_id: "0b8f5d7e-1c1a-4c55-9d3e-3f0c9a1b2c3d", priority: "high" },
  } as PushJob;
  assertEquals(webPushHeaders(job, 1_000_000), {
    ttl: "90",
    urgency: "high",
    topic: "0b8f5d7e1c1a4c559d3e3f0c9a1b2c3d",
  });
  const run = { kind: "run", expires_at: null, message: {} } as unknown as PushJob;
  assertEquals(webPushHeaders(run, 0), { ttl: "86400", urgency: "normal" });
});
