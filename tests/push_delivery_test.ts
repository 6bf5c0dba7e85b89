// The push path against real HTTP servers on loopback that check what FCM, Google's token
// endpoint and APNs check: content, one token exchange for many pushes, retries honouring
// Retry-After, dead tokens, configuration errors, dropped approvals, the silent clear.
import { assert, assertEquals, assertMatch } from "./_helpers/assert.ts";
import { startStack } from "./_helpers/stack.ts";
import { randomDevice, randomWorkspace } from "./_helpers/fixtures.ts";
import {
  apnsErrors,
  apnsToken,
  type FakePushProviders,
  fcmErrors,
  startFakePushProviders,
} from "./_helpers/push_providers.ts";
import {
  enqueueApprovalClearPush,
  enqueueApprovalPush,
  enqueueRunEndedPush,
  makeDue,
  outboxRows,
  randomApproval,
  randomRun,
} from "./_helpers/push_fixtures.ts";
import { createLogger } from "../supabase/functions/_shared/logger.ts";

async function withProviders(
  fn: (
    ctx: {
      stack: Awaited<ReturnType<typeof startStack>>;
      fake: FakePushProviders;
      logs: Array<Record<string, unknown>>;
    },
  ) => Promise<void>,
  env: Record<string, string> = {},
) {
  const fake = await startFakePushProviders();
  const logs: Array<Record<string, unknown>> = [];
  const stack = await startStack({
    env: { ...fake.env, ...env },
    overrides: { log: createLogger("debug", {}, (line) => logs.push(JSON.parse(line))) },
  });
  try {
    await fn({ stack, fake, logs });
    assertEquals(fake.malformed, [], "the fake providers refused a malformed request");
  } finally {
    await stack.close();
    await fake.close();
  }
}

Deno.test("an approval's push reaches FCM and APNs with the content of docs/contract/push.md#content", async () => {
  await withProviders(async ({ stack, fake }) => {
    const ws = await randomWorkspace(stack.sql, { displayName: "api-server" });
    const fcmToken = `fcm-${crypto.randomUUID()}`;
    const iosToken = apnsToken();
    const android = await randomDevice(stack.sql, {
      workspaceId: ws.workspaceId,
      platform: "android",
      pushToken: fcmToken,
    });
    const ios = await randomDevice(stack.sql, {
      workspaceId: ws.workspaceId,
      platform: "ios",
      pushProvider: "apns",
      pushToken: iosToken,
    });
    const runId = await randomRun(stack.sql, ws.workspaceId);
    const command = `npm publish --tag next && ${"x".repeat(300)}`;
    const approvalId = await randomApproval(stack.sql, ws.workspaceId, runId, { command });
    assertEquals(await enqueueApprovalPush(stack.sql, approvalId), 2);

    assertEquals(await stack.deps.push.sweep(), 2);
    assertEquals(fake.received.length, 2);
    assertEquals(fake.authFailures, []);
    const [{ expires_at: expiresAt }] = await stack.sql`
      select expires_at from public.approvals where id = ${approvalId}`;
    const expiresSec = Math.floor(new Date(expiresAt).getTime() / 1000);

    const fcm = fake.received.find((r) => r.provider === "fcm")!;
    assertEquals(fcm.token, fcmToken);
    const m = fcm.body as Record<string, Record<string, unknown>>;
    assertEquals(m.notification.title, "Approval needed · api-server");
    assertEquals((m.notification.body as string).length, 200);
    assert((m.notification.body as string).startsWith("npm publish --tag next"));
    assertEquals(m.data.type, "approval");
    assertEquals(m.data.approval_id, approvalId);
    assertEquals(m.data.run_id, runId);
    assertEquals(m.data.workspace_id, ws.workspaceId);
    assertEquals(new Date(m.data.expires_at as string).getTime(), new Date(expiresAt).getTime());
    assertEquals(m.android.priority, "high");
    assertEquals(m.android.collapse_key, approvalId);
    const ttl = Number((m.android.ttl as string).slice(0, -1));
    assert(ttl > 500 && ttl <= 600, `ttl ${m.android.ttl} runs to expires_at`);
    const fcmApns = m.apns as { headers: Record<string, string>; payload: { aps: object } };
    assertEquals(fcmApns.headers["apns-collapse-id"], approvalId);
    assertEquals(fcmApns.headers["apns-expiration"], String(expiresSec));

    const apns = fake.received.find((r) => r.provider === "apns")!;
    assertEquals(apns.token, iosToken);
    assertEquals(apns.headers["apns-topic"], fake.bundleId);
    assertEquals(apns.headers["apns-push-type"], "alert");
    assertEquals(apns.headers["apns-priority"], "10");
    assertEquals(apns.headers["apns-expiration"], String(expiresSec));
    assertEquals(apns.headers["apns-collapse-id"], approvalId);
    const aps = apns.body.aps as Record<string, unknown>;
    assertEquals(aps.category, "AGENTOPS_APPROVAL");
    assertEquals(aps["interruption-level"], "time-sensitive");
    assertEquals((aps.alert as Record<string, string>).title, "Approval needed · api-server");
    assertEquals(apns.body.approval_id, approvalId);
    assertEquals(apns.body.type, "approval");

    const rows = await outboxRows(stack.sql, ws.workspaceId);
    assertEquals(rows.map((r) => r.status), ["sent", "sent"]);
    assertEquals(
      new Set(rows.map((r) => `${r.device_id}:${r.provider}`)),
      new Set([`${android.deviceId}:fcm`, `${ios.deviceId}:apns`]),
    );
    assert(rows.every((r) => r.last_outcome === "sent" && r.last_http_status === 200));
  });
});

Deno.test("a run's end is pushed as '<name> · run completed' with normal Android priority", async () => {
  await withProviders(async ({ stack, fake }) => {
    const ws = await randomWorkspace(stack.sql, { displayName: "web" });
    await randomDevice(stack.sql, { workspaceId: ws.workspaceId });
    const runId = await randomRun(stack.sql, ws.workspaceId, {
      status: "COMPLETED",
      lastMessage: "All 42 tests pass",
    });
    assertEquals(await enqueueRunEndedPush(stack.sql, runId), 1);
    await stack.deps.push.sweep();
    const m = fake.received[0].body as Record<string, Record<string, unknown>>;
    assertEquals(m.notification, { title: "web · run completed", body: "All 42 tests pass" });
    assertEquals(m.data, {
      type: "run",
      run_id: runId,
      workspace_id: ws.workspaceId,
      status: "COMPLETED",
    });
    assertEquals(m.android.priority, "normal");
    assertEquals(m.android.ttl, undefined);
  });
});

Deno.test("many FCM pushes share one OAuth token exchange, and APNs one provider token", async () => {
  await withProviders(async ({ stack, fake }) => {
    const ws = await randomWorkspace(stack.sql);
    for (let i = 0; i < 12; i++) await randomDevice(stack.sql, { workspaceId: ws.workspaceId });
    for (let i = 0; i < 4; i++) {
      await randomDevice(stack.sql, {
        workspaceId: ws.workspaceId,
        platform: "ios",
        pushProvider: "apns",
        pushToken: apnsToken(),
      });
    }
    const runId = await randomRun(stack.sql, ws.workspaceId);
    for (let i = 0; i < 3; i++) {
      await enqueueApprovalPush(stack.sql, await randomApproval(stack.sql, ws.workspaceId, runId));
      await stack.deps.push.sweep();
    }
    assertEquals(fake.received.length, 48);
    assertEquals(fake.tokenExchanges, 1);
    assertEquals(fake.apnsJwts.size, 1);
    assertEquals(fake.authFailures, []);
  });
});

Deno.test("500 and 429 with Retry-After are retried with backoff and then delivered", async () => {
  await withProviders(async ({ stack, fake }) => {
    const ws = await randomWorkspace(stack.sql);
    const tokens = [`a-${crypto.randomUUID()}`, `b-${crypto.randomUUID()}`, apnsToken()];
    await randomDevice(stack.sql, { workspaceId: ws.workspaceId, pushToken: tokens[0] });
    await randomDevice(stack.sql, { workspaceId: ws.workspaceId, pushToken: tokens[1] });
    await randomDevice(stack.sql, {
      workspaceId: ws.workspaceId,
      platform: "ios",
      pushProvider: "apns",
      pushToken: tokens[2],
    });
    fake.script(tokens[0], fcmErrors.internal(), fcmErrors.unavailable("1"));
    fake.script(tokens[1], fcmErrors.quotaExceeded("120"));
    fake.script(tokens[2], apnsErrors.tooManyRequests("300"));
    const runId = await randomRun(stack.sql, ws.workspaceId);
    await enqueueApprovalPush(stack.sql, await randomApproval(stack.sql, ws.workspaceId, runId));

    assertEquals(await stack.deps.push.sweep(), 3);
    assertEquals(fake.received.length, 0);
    let rows = await outboxRows(stack.sql, ws.workspaceId);
    assert(rows.every((r) => r.status === "pending" && r.last_outcome === "retry"));
    const byStatus = Object.fromEntries(rows.map((r) => [r.last_http_status, r]));
    assert(Number(byStatus[500].wait_seconds) >= 5, "backoff after a 500");
    assert(Number(byStatus[500].wait_seconds) < 60, "the first backoff is short");
    const waits = rows.map((r) => Number(r.wait_seconds)).sort((a, b) => a - b);
    assert(waits[1] >= 120 && waits[2] >= 300, `Retry-After honoured: ${waits}`);
    // nothing is due yet: a sweep attempts nothing
    assertEquals(await stack.deps.push.sweep(), 0);

    await makeDue(stack.sql, ws.workspaceId);
    assertEquals(await stack.deps.push.sweep(), 3);
    assertEquals(fake.received.length, 2, "token a: 503 again, the others delivered");
    await makeDue(stack.sql, ws.workspaceId);
    assertEquals(await stack.deps.push.sweep(), 1);
    rows = await outboxRows(stack.sql, ws.workspaceId);
    assertEquals(rows.map((r) => r.status), ["sent", "sent", "sent"]);
    assertEquals(rows.map((r) => r.attempts).sort(), [2, 2, 3]);
    assertEquals(new Set(fake.received.map((r) => r.token)), new Set(tokens));
  });
});

Deno.test("UNREGISTERED clears the FCM token and writes PUSH_FAILED on the run's timeline", async () => {
  await withProviders(async ({ stack, fake }) => {
    const ws = await randomWorkspace(stack.sql);
    const dead = `dead-${crypto.randomUUID()}`;
    const device = await randomDevice(stack.sql, { workspaceId: ws.workspaceId, pushToken: dead });
    const alive = await randomDevice(stack.sql, { workspaceId: ws.workspaceId });
    fake.script(dead, fcmErrors.unregistered());
    const runId = await randomRun(stack.sql, ws.workspaceId);
    const approvalId = await randomApproval(stack.sql, ws.workspaceId, runId);
    await enqueueApprovalPush(stack.sql, approvalId);
    await stack.deps.push.sweep();

    const [d] = await stack
      .sql`select push_token from public.devices where id = ${device.deviceId}`;
    assertEquals(d.push_token, null);
    const [a] = await stack.sql`select push_token from public.devices where id = ${alive.deviceId}`;
    assert(a.push_token, "the other device keeps its token");
    const events = await stack.sql`
      select type, payload from public.events where run_id = ${runId} order by seq`;
    assertEquals(events.map((e) => e.type), ["PUSH_FAILED"]);
    assertEquals(events[0].payload.device_id, device.deviceId);
    assertEquals(events[0].payload.reason, "UNREGISTERED");
    assertEquals(events[0].payload.approval_id, approvalId);
    const [chain] = await stack.sql`select * from private.verify_event_chain(${runId})`;
    assert(chain.ok);
    const rows = await outboxRows(stack.sql, ws.workspaceId);
    const deadRow = rows.find((r) => r.device_id === device.deviceId)!;
    assertEquals([deadRow.status, deadRow.last_outcome, deadRow.last_http_status], [
      "failed",
      "dead_token",
      404,
    ]);

    // the next notification skips the device (no token) and says so on the row
    await enqueueApprovalPush(stack.sql, await randomApproval(stack.sql, ws.workspaceId, runId));
    await stack.deps.push.sweep();
    const latest = (await outboxRows(stack.sql, ws.workspaceId)).filter((r) =>
      r.device_id === device.deviceId
    ).at(-1)!;
    assertEquals([latest.status, latest.last_outcome], ["dropped", "no_token"]);
  });
});

Deno.test("APNs 410 clears the token unless the device registered one after the 410's timestamp", async () => {
  await withProviders(async ({ stack, fake }) => {
    const ws = await randomWorkspace(stack.sql);
    const [stale, fresh] = [apnsToken(), apnsToken()];
    const staleDevice = await randomDevice(stack.sql, {
      workspaceId: ws.workspaceId,
      platform: "ios",
      pushProvider: "apns",
      pushToken: stale,
    });
    const freshDevice = await randomDevice(stack.sql, {
      workspaceId: ws.workspaceId,
      platform: "ios",
      pushProvider: "apns",
      pushToken: fresh,
    });
    // stale registered a day ago, unregistered now; fresh re-registered after an old 410
    await stack.sql`update public.devices set push_token_updated_at = now() - interval '1 day'
                    where id = ${staleDevice.deviceId}`;
    fake.script(stale, apnsErrors.unregistered(Date.now()));
    fake.script(fresh, apnsErrors.unregistered(Date.now() - 3600_000));
    const runId = await randomRun(stack.sql, ws.workspaceId);
    await enqueueApprovalPush(stack.sql, await randomApproval(stack.sql, ws.workspaceId, runId));
    await stack.deps.push.sweep();

    const devices = await stack.sql`
      select id, push_token from public.devices where id in (${staleDevice.deviceId}, ${freshDevice.deviceId})`;
    const tokenOf = (id: string) => devices.find((d) => d.id === id)!.push_token;
    assertEquals(tokenOf(staleDevice.deviceId), null);
    assertEquals(tokenOf(freshDevice.deviceId), fresh);
    const rows = await outboxRows(stack.sql, ws.workspaceId);
    const freshRow = rows.find((r) => r.device_id === freshDevice.deviceId)!;
    assertEquals([freshRow.status, freshRow.last_outcome], ["pending", "dead_token"]);
    assertMatch(freshRow.last_error, /token kept/);
    const events = await stack.sql`select payload from public.events where run_id = ${runId}`;
    assertEquals(events.map((e) => e.payload.device_id), [staleDevice.deviceId]);

    // the kept token is retried and delivered
    await makeDue(stack.sql, ws.workspaceId);
    await stack.deps.push.sweep();
    assertEquals(fake.received.map((r) => r.token), [fresh]);
  });
});

Deno.test("a dead token is kept when the device reported a new one while the push was in flight", async () => {
  await withProviders(async ({ stack }) => {
    const ws = await randomWorkspace(stack.sql);
    const device = await randomDevice(stack.sql, { workspaceId: ws.workspaceId });
    const runId = await randomRun(stack.sql, ws.workspaceId);
    await enqueueApprovalPush(stack.sql, await randomApproval(stack.sql, ws.workspaceId, runId));
    const [{ jobs }] = await stack.sql`select private.claim_push_batch(10) as jobs`;
    assertEquals(jobs.length, 1);
    await stack.sql`update public.devices set push_token = 'rotated', push_token_updated_at = now()
                    where id = ${device.deviceId}`;
    const [{ r }] = await stack.sql`select private.record_push_result(${jobs[0].id}, ${
      stack.sql.json({ result: "dead_token", provider: "fcm", token: jobs[0].token })
    }) as r`;
    assertEquals(r.token_cleared, false);
    assertEquals(r.status, "pending");
    const [d] = await stack
      .sql`select push_token from public.devices where id = ${device.deviceId}`;
    assertEquals(d.push_token, "rotated");
    assertEquals((await stack.sql`select 1 from public.events where run_id = ${runId}`).length, 0);
  });
});

Deno.test("configuration errors are logged loudly and keep the token", async () => {
  await withProviders(async ({ stack, fake, logs }) => {
    const ws = await randomWorkspace(stack.sql);
    const mismatch = `m-${crypto.randomUUID()}`;
    const badDevice = apnsToken();
    await randomDevice(stack.sql, { workspaceId: ws.workspaceId, pushToken: mismatch });
    await randomDevice(stack.sql, {
      workspaceId: ws.workspaceId,
      platform: "ios",
      pushProvider: "apns",
      pushToken: badDevice,
    });
    fake.script(mismatch, fcmErrors.senderIdMismatch());
    fake.script(badDevice, apnsErrors.badDeviceToken());
    const runId = await randomRun(stack.sql, ws.workspaceId);
    await enqueueApprovalPush(stack.sql, await randomApproval(stack.sql, ws.workspaceId, runId));
    await stack.deps.push.sweep();

    const tokens = await stack.sql`
      select push_token from public.devices d join public.workspace_devices wd on wd.device_id = d.id
      where wd.workspace_id = ${ws.workspaceId}`;
    assertEquals(new Set(tokens.map((t) => t.push_token)), new Set([mismatch, badDevice]));
    const rows = await outboxRows(stack.sql, ws.workspaceId);
    assert(rows.every((r) => r.status === "failed" && r.last_outcome === "config_error"));
    assertEquals((await stack.sql`select 1 from public.events where run_id = ${runId}`).length, 0);
    const errors = logs.filter((l) =>
      l.level === "error" && l.msg === "push configuration error (token kept)"
    );
    assertEquals(errors.length, 2);
    assert(errors.some((l) => /SENDER_ID_MISMATCH/.test(String(l.error))));
    assert(errors.some((l) => /sandbox\/production mismatch/.test(String(l.error))));
    assert(!JSON.stringify(logs).includes(badDevice), "push tokens are never logged in full");
  });
});

Deno.test("FCM INVALID_ARGUMENT clears a token only once the message is known good", async () => {
  await withProviders(async ({ stack, fake }) => {
    const ws = await randomWorkspace(stack.sql);
    const first = `i1-${crypto.randomUUID()}`;
    const d1 = await randomDevice(stack.sql, { workspaceId: ws.workspaceId, pushToken: first });
    fake.script(first, fcmErrors.invalidToken());
    const runId = await randomRun(stack.sql, ws.workspaceId);
    await enqueueApprovalPush(stack.sql, await randomApproval(stack.sql, ws.workspaceId, runId));
    await stack.deps.push.sweep();
    // no approval push was ever accepted: the message may be at fault, the token is kept
    let [row] = await outboxRows(stack.sql, ws.workspaceId);
    assertEquals([row.status, row.last_outcome], ["failed", "invalid_argument"]);
    const [k] = await stack.sql`select push_token from public.devices where id = ${d1.deviceId}`;
    assertEquals(k.push_token, first);

    // an approval push is accepted for another device: now the message is known good
    const other = await randomWorkspace(stack.sql);
    await randomDevice(stack.sql, { workspaceId: other.workspaceId });
    const otherRun = await randomRun(stack.sql, other.workspaceId);
    await enqueueApprovalPush(
      stack.sql,
      await randomApproval(stack.sql, other.workspaceId, otherRun),
    );
    await stack.deps.push.sweep();
    assertEquals(fake.received.length, 1);
    fake.script(first, fcmErrors.invalidToken());
    await enqueueApprovalPush(stack.sql, await randomApproval(stack.sql, ws.workspaceId, runId));
    await stack.deps.push.sweep();
    [row] = (await outboxRows(stack.sql, ws.workspaceId)).slice(-1);
    assertEquals([row.status, row.last_outcome], ["failed", "invalid_argument"]);
    const [c] = await stack.sql`select push_token from public.devices where id = ${d1.deviceId}`;
    assertEquals(c.push_token, null);
    const events = await stack.sql`select type from public.events where run_id = ${runId}`;
    assertEquals(events.map((e) => e.type), ["PUSH_FAILED"]);
  });
});

Deno.test("an approval's push is dropped once the approval is decided or expired", async () => {
  await withProviders(async ({ stack, fake }) => {
    const ws = await randomWorkspace(stack.sql);
    await randomDevice(stack.sql, { workspaceId: ws.workspaceId });
    const runId = await randomRun(stack.sql, ws.workspaceId);
    const decided = await randomApproval(stack.sql, ws.workspaceId, runId);
    const expired = await randomApproval(stack.sql, ws.workspaceId, runId);
    await enqueueApprovalPush(stack.sql, decided);
    await enqueueApprovalPush(stack.sql, expired);
    await stack.sql`update public.approvals set status = 'APPROVED', decided_at = now()
                    where id = ${decided}`;
    await stack.sql`update public.approvals set expires_at = now() - interval '1 second'
                    where id = ${expired}`;
    assertEquals(await stack.deps.push.sweep(), 0);
    assertEquals(fake.requests, 0);
    const rows = await outboxRows(stack.sql, ws.workspaceId);
    assertEquals(rows.map((r) => [r.approval_id, r.status, r.last_outcome]), [
      [decided, "dropped", "approval_decided"],
      [expired, "dropped", "approval_expired"],
    ]);
  });
});

Deno.test("a decided approval's silent push reaches the other devices with its collapse id", async () => {
  await withProviders(async ({ stack, fake }) => {
    const ws = await randomWorkspace(stack.sql);
    const decider = await randomDevice(stack.sql, { workspaceId: ws.workspaceId });
    const androidToken = `c-${crypto.randomUUID()}`;
    const iosToken = apnsToken();
    await randomDevice(stack.sql, { workspaceId: ws.workspaceId, pushToken: androidToken });
    await randomDevice(stack.sql, {
      workspaceId: ws.workspaceId,
      platform: "ios",
      pushProvider: "apns",
      pushToken: iosToken,
    });
    const runId = await randomRun(stack.sql, ws.workspaceId);
    const approvalId = await randomApproval(stack.sql, ws.workspaceId, runId);
    await stack.sql`update public.approvals set status = 'DENIED', decided_at = now()
                    where id = ${approvalId}`;
    assertEquals(await enqueueApprovalClearPush(stack.sql, approvalId, decider.deviceId), 2);
    assertEquals(await stack.deps.push.sweep(), 2);

    const fcm = fake.received.find((r) => r.provider === "fcm")!;
    assertEquals(fcm.token, androidToken);
    const m = fcm.body as Record<string, Record<string, unknown>>;
    assertEquals(m.notification, undefined);
    assertEquals(m.data.type, "approval_resolved");
    assertEquals(m.data.approval_id, approvalId);
    assertEquals(m.data.status, "DENIED");
    assertEquals(m.android.collapse_key, approvalId);
    const apns = fake.received.find((r) => r.provider === "apns")!;
    assertEquals(apns.headers["apns-push-type"], "background");
    assertEquals(apns.headers["apns-priority"], "5");
    assertEquals(apns.headers["apns-collapse-id"], approvalId);
    assertEquals(apns.body.aps, { "content-available": 1 });
    assertEquals(apns.body.approval_id, approvalId);
  });
});

Deno.test("APNs ExpiredProviderToken makes the sender sign a new provider token and deliver", async () => {
  await withProviders(async ({ stack, fake, logs }) => {
    const ws = await randomWorkspace(stack.sql);
    const token = apnsToken();
    await randomDevice(stack.sql, {
      workspaceId: ws.workspaceId,
      platform: "ios",
      pushProvider: "apns",
      pushToken: token,
    });
    fake.script(token, apnsErrors.expiredProviderToken());
    const runId = await randomRun(stack.sql, ws.workspaceId);
    await enqueueApprovalPush(stack.sql, await randomApproval(stack.sql, ws.workspaceId, runId));
    await stack.deps.push.sweep();
    assertEquals(fake.received.length, 1);
    const [row] = await outboxRows(stack.sql, ws.workspaceId);
    assertEquals([row.status, row.attempts], ["sent", 1]);
    assert(logs.some((l) => /provider-token cache is wrong/.test(String(l.msg))));
  });
});

Deno.test("the FCM access token is exchanged again within 5 minutes of its expiry", async () => {
  await withProviders(async ({ stack, fake }) => {
    const ws = await randomWorkspace(stack.sql);
    await randomDevice(stack.sql, { workspaceId: ws.workspaceId });
    const runId = await randomRun(stack.sql, ws.workspaceId);
    // a token that lives 5 minutes is never reused; one that lives 6 minutes is
    fake.tokenLifetimeSeconds = 300;
    for (let i = 0; i < 2; i++) {
      await enqueueApprovalPush(stack.sql, await randomApproval(stack.sql, ws.workspaceId, runId));
      await stack.deps.push.sweep();
    }
    assertEquals(fake.tokenExchanges, 2);
    fake.tokenLifetimeSeconds = 360;
    for (let i = 0; i < 2; i++) {
      await enqueueApprovalPush(stack.sql, await randomApproval(stack.sql, ws.workspaceId, runId));
      await stack.deps.push.sweep();
    }
    assertEquals(fake.tokenExchanges, 3);
    assertEquals(fake.received.length, 4);
  });
});

Deno.test("the APNs provider token is reused for 50 minutes, then signed anew", async () => {
  let offsetMs = 0;
  const fake = await startFakePushProviders();
  const stack = await startStack({
    env: fake.env,
    overrides: { now: () => Date.now() + offsetMs },
  });
  try {
    const ws = await randomWorkspace(stack.sql);
    await randomDevice(stack.sql, {
      workspaceId: ws.workspaceId,
      platform: "ios",
      pushProvider: "apns",
      pushToken: apnsToken(),
    });
    const runId = await randomRun(stack.sql, ws.workspaceId);
    for (const minutes of [0, 49, 51]) {
      offsetMs = minutes * 60_000;
      await enqueueApprovalPush(stack.sql, await randomApproval(stack.sql, ws.workspaceId, runId));
      await stack.deps.push.sweep();
    }
    assertEquals(fake.received.length, 3);
    assertEquals(fake.apnsJwts.size, 2);
  } finally {
    await stack.close();
    await fake.close();
  }
});

Deno.test("retries stop 24 h after the row was written, and when the row expires first", async () => {
  await withProviders(async ({ stack }) => {
    const ws = await randomWorkspace(stack.sql);
    await randomDevice(stack.sql, { workspaceId: ws.workspaceId });
    const runId = await randomRun(stack.sql, ws.workspaceId);
    await enqueueRunEndedPush(stack.sql, runId);
    await enqueueApprovalPush(stack.sql, await randomApproval(stack.sql, ws.workspaceId, runId));
    await stack
      .sql`update private.push_outbox set created_at = now() - interval '23 hours 59 minutes 58 seconds'
                    where kind = 'run' and workspace_id = ${ws.workspaceId}`;
    const [{ jobs }] = await stack.sql`select private.claim_push_batch(10) as jobs`;
    const outcome = { result: "retry", provider: "fcm", http_status: 503, retry_after: 600 };
    const results = [];
    for (const job of jobs) {
      const [{ r }] = await stack.sql`
        select private.record_push_result(${job.id}, ${stack.sql.json(outcome)}) as r`;
      results.push([job.kind, r.status]);
    }
    // the run push would be retried past its 24 h; the approval's retry after its expiry
    assertEquals(results.sort(), [["approval", "dropped"], ["run", "failed"]]);
    const rows = await outboxRows(stack.sql, ws.workspaceId);
    assert(rows.every((r) => r.last_outcome === "retry" && r.last_http_status === 503));
  });
});

Deno.test("unreadable private keys are configuration errors that keep the row for a retry", async () => {
  const fake = await startFakePushProviders();
  const badKey = "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n";
  const serviceAccount = JSON.parse(fake.env.FCM_SERVICE_ACCOUNT_JSON);
  const stack = await startStack({
    env: {
      ...fake.env,
      APNS_PRIVATE_KEY: badKey,
      FCM_SERVICE_ACCOUNT_JSON: JSON.stringify({ ...serviceAccount, private_key: badKey }),
    },
    overrides: { log: createLogger("error", {}, () => {}) },
  });
  try {
    const ws = await randomWorkspace(stack.sql);
    await randomDevice(stack.sql, { workspaceId: ws.workspaceId });
    await randomDevice(stack.sql, {
      workspaceId: ws.workspaceId,
      platform: "ios",
      pushProvider: "apns",
      pushToken: apnsToken(),
    });
    const runId = await randomRun(stack.sql, ws.workspaceId);
    await enqueueApprovalPush(stack.sql, await randomApproval(stack.sql, ws.workspaceId, runId));
    assertEquals(await stack.deps.push.sweep(), 2);
    assertEquals(fake.requests, 0);
    assertEquals(fake.tokenExchanges, 0);
    const rows = await outboxRows(stack.sql, ws.workspaceId);
    assertEquals(rows.map((r) => [r.status, r.last_outcome]), [
      ["pending", "config_error"],
      ["pending", "config_error"],
    ]);
    assert(rows.some((r) => /APNS_PRIVATE_KEY/.test(r.last_error)));
    assert(rows.some((r) => /FCM_SERVICE_ACCOUNT_JSON/.test(r.last_error)));
  } finally {
    await stack.close();
    await fake.close();
  }
});
