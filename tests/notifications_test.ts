// Issue 17 against real loopback providers: Web Push (VAPID JWT verified with the public
// key, the body decrypted with the subscription's private key, 410 clears the
// subscription), decision tokens (decide once, from another process too, refused after),
// the secure category for a dangerous command, reminders, and receipts (push_sent,
// devices_notified, delivered_at when the long-poll answers).
import { assert, assertEquals } from "./_helpers/assert.ts";
import {
  clearOfRateWindowEdge,
  fetchJson,
  type Json,
  mintUserToken,
  type Stack,
  startStack,
} from "./_helpers/stack.ts";
import { randomDevice, randomWorkspace, type TestWorkspace } from "./_helpers/fixtures.ts";
import { decideApproval, eventually, requestApproval, waitApproval } from "./_helpers/approvals.ts";
import {
  apnsToken,
  type FakePushProviders,
  startFakePushProviders,
} from "./_helpers/push_providers.ts";
import { type FakeWebPushService, startFakeWebPushService } from "./_helpers/webpush_service.ts";
import { outboxRows } from "./_helpers/push_fixtures.ts";
import { completeBody, phoneOf, startPairing } from "./_helpers/pairing.ts";

interface World {
  stack: Stack;
  fake: FakePushProviders;
  web: FakeWebPushService;
}

async function withWorld(fn: (w: World) => Promise<void>, env: Record<string, string> = {}) {
  const fake = await startFakePushProviders();
  const web = await startFakeWebPushService();
  const stack = await startStack({ env: { ...fake.env, ...web.env, ...env } });
  try {
    await fn({ stack, fake, web });
    assertEquals(fake.malformed, []);
    assertEquals(fake.authFailures, []);
    assertEquals(web.malformed, []);
  } finally {
    await stack.close();
    await web.close();
    await fake.close();
  }
}

/** A workspace with a browser (Web Push) device and an Android phone of the same user. */
async function browserAndPhone(w: World, displayName = "shop") {
  const ws = await randomWorkspace(w.stack.sql, { displayName });
  const subscription = await w.web.subscribe();
  const browser = await randomDevice(w.stack.sql, {
    workspaceId: ws.workspaceId,
    platform: "web",
    pushProvider: "webpush",
    pushToken: subscription.json,
  });
  const phoneToken = `phone-${crypto.randomUUID()}`;
  const phone = await randomDevice(w.stack.sql, {
    userId: browser.userId,
    workspaceId: ws.workspaceId,
    pushToken: phoneToken,
  });
  return { ws, subscription, browser, phone, phoneToken };
}

async function pushDecision(stack: Stack, body: Record<string, unknown>) {
  return await fetchJson(`${stack.functionsUrl}/push-decision`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

async function events(stack: Stack, approvalId: string, type: string): Promise<Json[]> {
  return await stack.sql`
    select * from public.events where type = ${type} and payload ->> 'approval_id' = ${approvalId}
    order by seq`;
}

async function approvalRow(stack: Stack, approvalId: string): Promise<Json> {
  const [row] = await stack.sql`select * from public.approvals where id = ${approvalId}`;
  return row;
}

Deno.test("an approval reaches a browser by Web Push: VAPID verifies, the body decrypts to the approval", async () => {
  await withWorld(async (w) => {
    const { ws, subscription } = await browserAndPhone(w);
    const res = await requestApproval(w.stack, ws, {
      command: "npm run migrate",
      expires_in_seconds: 300,
    });
    assertEquals(res.status, 201);
    const approvalId = res.body.approval_id;
    await w.web.waitForReceived(1);
    const push = w.web.received[0];
    assertEquals(push.subscriptionId, subscription.id);
    // the fake verified the JWT with the VAPID public key and decrypted with the
    // subscription's private key; what it decrypted is the approval
    assertEquals(push.payload.title, "Approval needed · shop");
    assertEquals(push.payload.body, "npm run migrate");
    assertEquals(push.payload.tag, approvalId);
    assertEquals(push.payload.category, "AGENTOPS_APPROVAL");
    const data = push.payload.data as Record<string, string>;
    assertEquals(data.type, "approval");
    assertEquals(data.approval_id, approvalId);
    assertEquals(data.workspace_id, ws.workspaceId);
    assertEquals(data.requires_unlock, "false");
    assert(/^[A-Za-z0-9_-]{43}$/.test(data.decision_token), data.decision_token);
    assertEquals(push.jwt.aud, w.web.url);
    assertEquals(push.jwt.sub, "mailto:ops@example.com");
    assertEquals(push.headers["urgency"], "high");
    assertEquals(push.headers["topic"], approvalId.replaceAll("-", ""));
    const ttl = Number(push.headers["ttl"]);
    assert(ttl > 280 && ttl <= 300, `TTL ${ttl} runs to expires_at`);
    // the decision token is stored only as its SHA-256
    const tokens = await w.stack.sql`select * from private.decision_tokens
                                     where approval_id = ${approvalId}`;
    assertEquals(tokens.length, 2); // the browser's and the phone's
    assert(tokens.every((t) => /^[0-9a-f]{64}$/.test(t.token_hash)));
    assert(!JSON.stringify(tokens).includes(data.decision_token));
    const outbox = await outboxRows(w.stack.sql, ws.workspaceId);
    assert(!JSON.stringify(outbox).includes(data.decision_token), "no raw token in the outbox");
    await eventually(
      async () => (await approvalRow(w.stack, approvalId)).devices_notified === 2,
      "both acceptances to be counted",
    );
    const row = await approvalRow(w.stack, approvalId);
    assertEquals(row.push_sent, 2);
    const webRow = (await outboxRows(w.stack.sql, ws.workspaceId)).find((r) =>
      r.provider === "webpush"
    )!;
    assertEquals(webRow.status, "sent");
    assertEquals(webRow.last_http_status, 201);
  });
});

Deno.test("a subscription the push service answers 410 is cleared with PUSH_FAILED", async () => {
  await withWorld(async (w) => {
    const { ws, subscription, browser } = await browserAndPhone(w);
    w.web.script(subscription.id, { status: 410, body: { reason: "Gone" } });
    const res = await requestApproval(w.stack, ws, { command: "make release" });
    assertEquals(res.status, 201);
    await eventually(async () => {
      const [d] = await w.stack.sql`select push_token from public.devices
                                    where id = ${browser.deviceId}`;
      return d.push_token === null;
    }, "the dead subscription to be cleared");
    const failed = await w.stack.sql`select payload from public.events where type = 'PUSH_FAILED'`;
    assertEquals(failed.length, 1);
    assertEquals(failed[0].payload.provider, "webpush");
    assertEquals(failed[0].payload.http_status, 410);
    assertEquals(failed[0].payload.device_id, browser.deviceId);
    const row = (await outboxRows(w.stack.sql, ws.workspaceId)).find((r) =>
      r.device_id === browser.deviceId
    )!;
    assertEquals(row.status, "failed");
    assertEquals(row.last_outcome, "dead_token");
  });
});

Deno.test("a decision token decides once, from another process, and is refused after", async () => {
  await withWorld(async (w) => {
    const { ws, browser, phone } = await browserAndPhone(w);
    const res = await requestApproval(w.stack, ws, { command: "npm run build" });
    const approvalId = res.body.approval_id;
    await w.web.waitForReceived(1);
    await w.fake.waitForReceived(1);
    const webToken = (w.web.received[0].payload.data as Record<string, string>).decision_token;
    const fcmData = w.fake.received[0].body.data as Record<string, string>;
    assertEquals(fcmData.approval_id, approvalId);
    const phoneToken = fcmData.decision_token;
    assert(phoneToken && phoneToken !== webToken, "each device gets its own token");

    // another process (as a service worker or a notification action would) decides
    const code = `const r = await fetch(${
      JSON.stringify(`${w.stack.functionsUrl}/push-decision`)
    }, {
      method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ decision_token: ${
      JSON.stringify(webToken)
    }, decision: "DENY", note: "not on a Friday" }) });
      console.log(JSON.stringify({ status: r.status, body: await r.json() }));`;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--no-config", code],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert(out.success, new TextDecoder().decode(out.stderr));
    const answer = JSON.parse(new TextDecoder().decode(out.stdout));
    assertEquals(answer.status, 200);
    assertEquals(answer.body.status, "DENIED");
    assertEquals(answer.body.note, "not on a Friday");
    assertEquals(answer.body.decided_by_device_id, browser.deviceId);

    // the same token again: used → 404 with the one message an unknown token gets
    const again = await pushDecision(w.stack, { decision_token: webToken, decision: "DENY" });
    assertEquals(again.status, 404);
    const unknown = await pushDecision(w.stack, {
      decision_token: "x".repeat(43),
      decision: "DENY",
    });
    assertEquals(unknown.status, 404);
    assertEquals(again.body.error.message, unknown.body.error.message);

    // the phone's own token: decided already, answered as mobile-approval-decision would
    const other = await pushDecision(w.stack, { decision_token: phoneToken, decision: "APPROVE" });
    assertEquals(other.status, 409);
    assertEquals(other.body.error.code, "already_decided");
    assertEquals(other.body.error.details.decided_by_device_id, browser.deviceId);

    const decided = await events(w.stack, approvalId, "APPROVAL_DECIDED");
    assertEquals(decided.length, 1);
    assertEquals(decided[0].payload.decided_by_device_id, browser.deviceId);
    assertEquals(decided[0].payload.decided_by_user_id, browser.userId);
    const row = await approvalRow(w.stack, approvalId);
    assertEquals(row.status, "DENIED");
    assertEquals(row.decided_by_device_id, browser.deviceId);
    // the other device gets the silent clear
    await eventually(
      () =>
        w.fake.received.some((r) =>
          r.body.data && (r.body.data as Json).type === "approval_resolved"
        ),
      "the phone's silent clear",
    );
    assert(phone.deviceId !== browser.deviceId);
  });
});

Deno.test("an expired approval's token is refused with the same not_found", async () => {
  await withWorld(async (w) => {
    const { ws } = await browserAndPhone(w);
    const res = await requestApproval(w.stack, ws, { command: "ls" });
    await w.web.waitForReceived(1);
    const token = (w.web.received[0].payload.data as Record<string, string>).decision_token;
    await w.stack.sql`update public.approvals set expires_at = now() - interval '1 second'
                      where id = ${res.body.approval_id}`;
    await w.stack.sql`update private.decision_tokens set expires_at = now() - interval '1 second'
                      where approval_id = ${res.body.approval_id}`;
    const late = await pushDecision(w.stack, { decision_token: token, decision: "APPROVE" });
    assertEquals(late.status, 404);
    assertEquals(
      late.body.error.message,
      "Not found: the decision token is unknown, used or expired",
    );
    assertEquals((await approvalRow(w.stack, res.body.approval_id)).decided_at, null);
  });
});

Deno.test("push-decision is rate-limited per token and per client IP", async () => {
  await withWorld(async (w) => {
    const token = "y".repeat(43);
    await clearOfRateWindowEdge();
    const answers = [];
    for (let i = 0; i < 3; i++) {
      answers.push(await pushDecision(w.stack, { decision_token: token, decision: "DENY" }));
    }
    assertEquals(answers.map((a) => a.status), [404, 404, 429]);
    assert(Number(answers[2].headers.get("retry-after")) >= 1);
    // other tokens from the same address: the per-IP limit (3; the refused third call did
    // not count) is reached next
    const more = [];
    for (let i = 0; i < 2; i++) {
      more.push(
        await pushDecision(w.stack, { decision_token: `z${i}`.repeat(20), decision: "DENY" }),
      );
    }
    assertEquals(more.map((a) => a.status), [404, 429]);
  }, { RATE_LIMIT_PUSH_DECISION_TOKEN_PER_MINUTE: "2", RATE_LIMIT_PUSH_DECISION_PER_MINUTE: "3" });
});

Deno.test("a dangerous command is pushed with the secure category that requires unlocking", async () => {
  await withWorld(async (w) => {
    const ws = await randomWorkspace(w.stack.sql);
    const iosToken = apnsToken();
    await randomDevice(w.stack.sql, {
      workspaceId: ws.workspaceId,
      platform: "ios",
      pushProvider: "apns",
      pushToken: iosToken,
    });
    await randomDevice(w.stack.sql, { workspaceId: ws.workspaceId });
    const subscription = await w.web.subscribe();
    const web = await randomDevice(w.stack.sql, {
      workspaceId: ws.workspaceId,
      platform: "web",
      pushProvider: "webpush",
      pushToken: subscription.json,
    });
    const res = await requestApproval(w.stack, ws, { command: "cd build && sudo rm -rf /opt/app" });
    assertEquals(res.status, 201);
    await w.fake.waitForReceived(2);
    await w.web.waitForReceived(1);
    const apns = w.fake.received.find((r) => r.provider === "apns")!;
    assertEquals((apns.body.aps as Json).category, "AGENTOPS_APPROVAL_SECURE");
    assertEquals(apns.body.requires_unlock, "true");
    const fcm = w.fake.received.find((r) => r.provider === "fcm")!;
    assertEquals((fcm.body.data as Json).requires_unlock, "true");
    assertEquals((fcm.body.apns as Json).payload.aps.category, "AGENTOPS_APPROVAL_SECURE");
    assertEquals((w.web.received[0].payload.data as Json).requires_unlock, "true");
    assertEquals(w.web.received[0].payload.category, "AGENTOPS_APPROVAL_SECURE");
    assertEquals((await approvalRow(w.stack, res.body.approval_id)).requires_unlock, true);

    // Only iOS, whose secure actions run after the device is unlocked, may decide it from the
    // notification; Android and the browser get no decision token (the app decides, signed in).
    assert(/^[A-Za-z0-9_-]{43}$/.test(String(apns.body.decision_token)), JSON.stringify(apns.body));
    assertEquals((fcm.body.data as Json).decision_token, undefined);
    assertEquals((w.web.received[0].payload.data as Json).decision_token, undefined);
    // and a token that reached a browser anyway is refused without deciding
    const forged = "f".repeat(43);
    await w.stack.sql`insert into private.decision_tokens (token_hash, approval_id, device_id,
                                                          expires_at)
                      values (encode(sha256(convert_to(${forged}, 'UTF8')), 'hex'),
                              ${res.body.approval_id}, ${web.deviceId}, now() + interval '1 hour')`;
    const refused = await pushDecision(w.stack, { decision_token: forged, decision: "APPROVE" });
    assertEquals(refused.status, 403, JSON.stringify(refused.body));
    assertEquals(refused.body.error.code, "forbidden");
    assertEquals((await approvalRow(w.stack, res.body.approval_id)).status, "PENDING");

    // an ordinary command keeps the plain category
    const plain = await requestApproval(w.stack, ws, { command: "npm test" });
    await w.fake.waitForReceived(4);
    const later = w.fake.received.filter((r) =>
      r.provider === "apns" && r.body.approval_id === plain.body.approval_id
    );
    assertEquals((later[0].body.aps as Json).category, "AGENTOPS_APPROVAL");
    assertEquals(later[0].body.requires_unlock, "false");
  });
});

Deno.test("a pending approval is reminded once at the configured time, and never after a decision", async () => {
  await withWorld(async (w) => {
    const { ws, browser } = await browserAndPhone(w, "api");
    const res = await requestApproval(w.stack, ws, { command: "make deploy" });
    const approvalId = res.body.approval_id;
    const decidedEarly = await requestApproval(w.stack, ws, { command: "make clean" });
    const earlyId = decidedEarly.body.approval_id;
    await w.web.waitForReceived(2);
    const row = await approvalRow(w.stack, approvalId);
    const remindIn = (Date.parse(row.remind_at) - Date.parse(row.requested_at)) / 1000;
    assertEquals(Math.round(remindIn), 2);
    const decided = await decideApproval(
      w.stack,
      await mintUserToken(browser.userId),
      earlyId,
      { decision: "APPROVE", device_id: browser.deviceId },
    );
    assertEquals(decided.status, 200);

    // not due yet: a sweep reminds nobody
    await w.stack.deps.push.sweep();
    assertEquals((await events(w.stack, approvalId, "APPROVAL_REMINDED")).length, 0);
    // due: move the clock of the reminder instead of sleeping through it
    await w.stack.sql`update public.approvals set remind_at = now() - interval '1 second'
                      where id in ${w.stack.sql([approvalId, earlyId])}`;
    await w.stack.deps.push.sweep();
    await w.web.waitForReceived(3);
    const reminder = w.web.received[2];
    assertEquals(reminder.payload.title, "still waiting · make deploy");
    assertEquals(reminder.payload.body, "make deploy");
    assertEquals(reminder.payload.time_sensitive, true);
    assertEquals((reminder.payload.data as Json).approval_id, approvalId);
    assertEquals((reminder.payload.data as Json).reminder, "true");
    assertEquals(reminder.headers["urgency"], "high");
    await w.fake.waitForReceived(3);
    const fcmReminder = w.fake.received.filter((r) =>
      (r.body.data as Json).approval_id === approvalId && (r.body.data as Json).reminder === "true"
    );
    assertEquals(fcmReminder.length, 1);
    assertEquals((fcmReminder[0].body.notification as Json).title, "still waiting · make deploy");
    assertEquals(
      (fcmReminder[0].body.apns as Json).payload.aps["interruption-level"],
      "time-sensitive",
    );

    // once: further sweeps remind nobody; the decided approval was never reminded
    await w.stack.deps.push.sweep();
    await w.stack.deps.push.sweep();
    assertEquals((await events(w.stack, approvalId, "APPROVAL_REMINDED")).length, 1);
    assertEquals((await events(w.stack, earlyId, "APPROVAL_REMINDED")).length, 0);
    assertEquals(
      w.web.received.filter((r) => (r.payload.data as Json).approval_id === earlyId).length,
      1,
    );
    assert((await approvalRow(w.stack, approvalId)).reminded_at !== null);
    await eventually(
      async () => (await approvalRow(w.stack, approvalId)).push_sent === 4,
      "4 acceptances (2 devices × first push and reminder)",
    );
    assertEquals((await approvalRow(w.stack, approvalId)).devices_notified, 2);
  }, { APPROVAL_REMIND_AFTER_SECONDS: "2" });
});

Deno.test("the long-poll answered with the decision marks the approval delivered, once", async () => {
  await withWorld(async (w) => {
    const { ws, browser } = await browserAndPhone(w);
    const res = await requestApproval(w.stack, ws, { command: "git tag v1" });
    const approvalId = res.body.approval_id;
    await w.web.waitForReceived(1);
    await w.fake.waitForReceived(1);
    await eventually(
      async () => (await approvalRow(w.stack, approvalId)).devices_notified === 2,
      "both devices to be counted",
    );
    const waiting = waitApproval(w.stack, ws, approvalId, 20);
    await eventually(() => w.stack.deps.waiter.stats().parked === 1, "the wait to park");
    const token = (w.web.received[0].payload.data as Record<string, string>).decision_token;
    const decided = await pushDecision(w.stack, {
      decision_token: token,
      decision: "APPROVE",
      note: "go",
    });
    assertEquals(decided.status, 200);
    const answer = await waiting;
    assertEquals(answer.status, 200);
    assertEquals(answer.body.status, "APPROVED");
    assertEquals(answer.body.note, "go");
    assertEquals(answer.body.devices_notified, 2);
    // the receipt follows the answer (the waiter writes it right after handing it out)
    await eventually(
      async () => (await approvalRow(w.stack, approvalId)).delivered_at !== null,
      "delivered_at to be set",
    );
    const row = await approvalRow(w.stack, approvalId);
    const delivered = await events(w.stack, approvalId, "APPROVAL_DELIVERED");
    assertEquals(delivered.length, 1);
    assertEquals(delivered[0].payload.devices_notified, 2);
    assertEquals(decided.body.decided_by_device_id, browser.deviceId);

    // asking again answers the same decision and records nothing twice
    const again = await waitApproval(w.stack, ws, approvalId, 1);
    assertEquals(again.body.status, "APPROVED");
    assertEquals(again.body.devices_notified, 2);
    assertEquals((await events(w.stack, approvalId, "APPROVAL_DELIVERED")).length, 1);
    assertEquals(
      String((await approvalRow(w.stack, approvalId)).delivered_at),
      String(row.delivered_at),
    );
  });
});

Deno.test("a pending wait answer carries devices_notified", async () => {
  await withWorld(async (w) => {
    const { ws } = await browserAndPhone(w);
    const res = await requestApproval(w.stack, ws, { command: "echo hi" });
    await eventually(
      async () => (await approvalRow(w.stack, res.body.approval_id)).devices_notified === 2,
      "both devices to be counted",
    );
    const answer = await waitApproval(w.stack, ws, res.body.approval_id, 0);
    assertEquals(answer.body.status, "PENDING");
    assertEquals(answer.body.devices_notified, 2);
    assertEquals((await approvalRow(w.stack, res.body.approval_id)).delivered_at, null);
  });
});

Deno.test("push-config gives the VAPID public key without auth; null without Web Push", async () => {
  await withWorld(async (w) => {
    const res = await fetchJson(`${w.stack.functionsUrl}/push-config`);
    assertEquals(res.status, 200);
    assertEquals(res.body, { vapid_public_key: w.web.env.VAPID_PUBLIC_KEY });
    assertEquals(res.headers.get("access-control-allow-origin"), "*");
  });
  const bare = await startStack();
  try {
    const res = await fetchJson(`${bare.functionsUrl}/push-config`);
    assertEquals(res.body, { vapid_public_key: null });
  } finally {
    await bare.close();
  }
});

Deno.test("a browser pairs with its PushSubscription; a malformed one is refused", async () => {
  await withWorld(async (w) => {
    const started = await startPairing(w.stack);
    const phone = await phoneOf(w.stack);
    const subscription = await w.web.subscribe();
    const bad = await fetchJson(`${w.stack.functionsUrl}/pair-complete`, {
      method: "POST",
      headers: { authorization: `Bearer ${phone.token}`, "content-type": "application/json" },
      body: JSON.stringify(
        completeBody(started.pair_token, {
          platform: "web",
          push_provider: "webpush",
          push_token: JSON.stringify({ endpoint: "ftp://x", keys: {} }),
        }),
      ),
    });
    assertEquals(bad.status, 400);
    assertEquals(bad.body.error.code, "invalid_request");
    const ok = await fetchJson(`${w.stack.functionsUrl}/pair-complete`, {
      method: "POST",
      headers: { authorization: `Bearer ${phone.token}`, "content-type": "application/json" },
      body: JSON.stringify(
        completeBody(started.pair_token, {
          platform: "web",
          push_provider: undefined,
          push_token: subscription.json,
        }),
      ),
    });
    assertEquals(ok.status, 200);
    const [device] = await w.stack.sql`select platform, push_provider from public.devices
                                       where id = ${ok.body.device_id}`;
    assertEquals(device, { platform: "web", push_provider: "webpush" });
    const ws: TestWorkspace = {
      workspaceId: started.workspace_id,
      secret: started.bridge_secret,
      displayName: "web",
    };
    const res = await requestApproval(w.stack, ws, { command: "ls" });
    assertEquals(res.status, 201);
    await w.web.waitForReceived(1);
    assertEquals(w.web.received[0].subscriptionId, subscription.id);
  });
});
