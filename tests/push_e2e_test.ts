// The push path end to end through the endpoints that cause pushes: an approval request
// reaches FCM and APNs right after its 201, a decision clears it on the other devices, a
// finished run is pushed, and a provider that hangs delays none of those requests.
import { assert, assertEquals } from "./_helpers/assert.ts";
import { bridgeFetch, mintUserToken, startStack } from "./_helpers/stack.ts";
import { randomDevice, randomWorkspace } from "./_helpers/fixtures.ts";
import { decideApproval, eventually, requestApproval } from "./_helpers/approvals.ts";
import {
  apnsToken,
  type FakePushProviders,
  startFakePushProviders,
} from "./_helpers/push_providers.ts";
import { outboxRows } from "./_helpers/push_fixtures.ts";

async function withProviders(
  fn: (stack: Awaited<ReturnType<typeof startStack>>, fake: FakePushProviders) => Promise<void>,
  env: Record<string, string> = {},
) {
  const fake = await startFakePushProviders();
  const stack = await startStack({ env: { ...fake.env, ...env } });
  try {
    await fn(stack, fake);
    assertEquals(fake.malformed, []);
    assertEquals(fake.authFailures, []);
  } finally {
    await stack.close();
    await fake.close();
  }
}

async function phoneAndTablet(stack: Awaited<ReturnType<typeof startStack>>) {
  const ws = await randomWorkspace(stack.sql, { displayName: "shop" });
  const phoneToken = `phone-${crypto.randomUUID()}`;
  const tabletToken = apnsToken();
  const phone = await randomDevice(stack.sql, {
    workspaceId: ws.workspaceId,
    pushToken: phoneToken,
  });
  const tablet = await randomDevice(stack.sql, {
    userId: phone.userId,
    workspaceId: ws.workspaceId,
    platform: "ios",
    pushProvider: "apns",
    pushToken: tabletToken,
  });
  return { ws, phone, tablet, phoneToken, tabletToken };
}

Deno.test("bridge-approval-request pushes to every device, and the decision clears the others", async () => {
  await withProviders(async (stack, fake) => {
    const { ws, phone, tabletToken, phoneToken } = await phoneAndTablet(stack);
    const res = await requestApproval(stack, ws, { command: "terraform apply" });
    assertEquals(res.status, 201);
    const approvalId = res.body.approval_id;
    await fake.waitForReceived(2);
    assertEquals(new Set(fake.received.map((r) => r.token)), new Set([phoneToken, tabletToken]));
    const fcm = fake.received.find((r) => r.provider === "fcm")!.body as Record<
      string,
      Record<string, unknown>
    >;
    assertEquals(fcm.notification, { title: "Approval needed · shop", body: "terraform apply" });
    assertEquals(fcm.data.approval_id, approvalId);

    // decided on the phone: the tablet gets the silent clear, the phone nothing more
    const decided = await decideApproval(stack, await mintUserToken(phone.userId), approvalId, {
      decision: "APPROVE",
      device_id: phone.deviceId,
    });
    assertEquals(decided.status, 200);
    await fake.waitForReceived(3);
    const clear = fake.received[2];
    assertEquals(clear.token, tabletToken);
    assertEquals(clear.headers["apns-push-type"], "background");
    assertEquals(clear.headers["apns-collapse-id"], approvalId);
    assertEquals(clear.body.type, "approval_resolved");
    await eventually(
      async () => (await outboxRows(stack.sql, ws.workspaceId)).every((r) => r.status === "sent"),
      "every outcome to be recorded",
    );
  });
});

Deno.test("bridge-event RUN_FAILED pushes '<name> · run failed' with the last message", async () => {
  await withProviders(async (stack, fake) => {
    const { ws } = await phoneAndTablet(stack);
    const runId = crypto.randomUUID();
    for (const [type, message] of [["RUN_STARTED", "go"], ["RUN_FAILED", "tsc: 3 errors"]]) {
      const res = await bridgeFetch(stack, ws, "POST", "/bridge-event", {
        workspace_id: ws.workspaceId,
        run_id: runId,
        provider: "claude-code",
        event_type: type,
        event_ts: new Date().toISOString(),
        payload: { message },
      });
      assertEquals(res.status, 202);
      await res.body?.cancel();
    }
    await fake.waitForReceived(2);
    const apns = fake.received.find((r) => r.provider === "apns")!;
    assertEquals(apns.body.aps, {
      alert: { title: "shop · run failed", body: "tsc: 3 errors" },
      sound: "default",
      "thread-id": ws.workspaceId,
    });
    assertEquals(apns.body.status, "FAILED");
    assertEquals(apns.body.run_id, runId);
  });
});

Deno.test("a provider that hangs delays neither the approval request nor the decision", async () => {
  await withProviders(async (stack, fake) => {
    const { ws, phone } = await phoneAndTablet(stack);
    fake.hangAll(true);
    const res = await requestApproval(stack, ws);
    assertEquals(res.status, 201);
    // answered although the providers have answered nothing: both pushes are still held
    await eventually(() => fake.requests >= 2, "both pushes to reach the providers");
    assertEquals(fake.received.length, 0);
    const decided = await decideApproval(
      stack,
      await mintUserToken(phone.userId),
      res.body.approval_id,
      { decision: "DENY", device_id: phone.deviceId },
    );
    assertEquals(decided.status, 200);
    assertEquals(fake.received.length, 0);
    const rows = await outboxRows(stack.sql, ws.workspaceId);
    assert(rows.some((r) => r.status === "sending"), "the first pushes are still in flight");
    fake.hangAll(false);
  }, { PUSH_PROVIDER_TIMEOUT_MS: "60000" });
});
