// The outbox is durable: a provider that hangs delays no request and is retried after its
// timeout; closing the functions mid-delivery (or dying with rows leased) loses nothing;
// the push-dispatch sweep is guarded by its bearer secret.
import { assert, assertEquals } from "./_helpers/assert.ts";
import { dropDatabase, fetchJson, freshDatabase, startStack } from "./_helpers/stack.ts";
import { randomDevice, randomWorkspace } from "./_helpers/fixtures.ts";
import { apnsToken, startFakePushProviders } from "./_helpers/push_providers.ts";
import { eventually } from "./_helpers/approvals.ts";
import {
  enqueueApprovalPush,
  makeDue,
  outboxRows,
  randomApproval,
  randomRun,
} from "./_helpers/push_fixtures.ts";
import { createLogger } from "../supabase/functions/_shared/logger.ts";

const DISPATCH_SECRET = "push-dispatch-test-secret-0123456789";

Deno.test("a provider that hangs delays no request, and its push is retried after the timeout", async () => {
  const fake = await startFakePushProviders();
  const stack = await startStack({
    env: { ...fake.env, PUSH_PROVIDER_TIMEOUT_MS: "300", PUSH_DISPATCH_SECRET: DISPATCH_SECRET },
  });
  try {
    const ws = await randomWorkspace(stack.sql);
    await randomDevice(stack.sql, { workspaceId: ws.workspaceId });
    const runId = await randomRun(stack.sql, ws.workspaceId);
    await enqueueApprovalPush(stack.sql, await randomApproval(stack.sql, ws.workspaceId, runId));
    fake.hangAll(true);

    // what a handler does after its transaction: returns at once, work goes on afterwards
    let returned = false;
    stack.deps.push.deliverSoon();
    returned = true;
    assert(returned);
    await eventually(() => fake.requests >= 1, "the push to reach FCM");

    // while FCM holds the push, requests are answered (push-dispatch finds nothing due)
    const res = await fetchJson(`${stack.functionsUrl}/push-dispatch`, {
      method: "POST",
      headers: { authorization: `Bearer ${DISPATCH_SECRET}` },
    });
    assertEquals(res.status, 200);
    assertEquals(res.body, { attempted: 0 });
    assertEquals(fake.received.length, 0);

    // the timeout gives up on the call; the row waits for its retry
    await eventually(
      async () => (await outboxRows(stack.sql, ws.workspaceId))[0].status === "pending",
      "the timed-out attempt to be recorded",
    );
    const [row] = await outboxRows(stack.sql, ws.workspaceId);
    assertEquals(row.last_outcome, "retry");
    assert(/no answer within 300 ms/.test(row.last_error), row.last_error);

    fake.hangAll(false);
    await makeDue(stack.sql, ws.workspaceId);
    assertEquals(await stack.deps.push.sweep(), 1);
    assertEquals(fake.received.length, 1);
    const [sent] = await outboxRows(stack.sql, ws.workspaceId);
    assertEquals([sent.status, sent.attempts], ["sent", 2]);
  } finally {
    await stack.close();
    await fake.close();
  }
});

Deno.test("the outbox survives a restart of the functions: nothing is lost", async () => {
  const fake = await startFakePushProviders();
  const databaseUrl = await freshDatabase();
  try {
    let tokens: string[] = [];
    let workspaceId = "";
    // 1. first life: two pushes in flight (the provider hangs), one leased by a sweeper that
    //    died, then the functions stop
    {
      const stack = await startStack({ env: fake.env, databaseUrl });
      const ws = await randomWorkspace(stack.sql);
      workspaceId = ws.workspaceId;
      tokens = [`r1-${crypto.randomUUID()}`, `r2-${crypto.randomUUID()}`, apnsToken()];
      await randomDevice(stack.sql, { workspaceId, pushToken: tokens[0] });
      await randomDevice(stack.sql, { workspaceId, pushToken: tokens[1] });
      await randomDevice(stack.sql, {
        workspaceId,
        platform: "ios",
        pushProvider: "apns",
        pushToken: tokens[2],
      });
      const runId = await randomRun(stack.sql, workspaceId);
      const approvalId = await randomApproval(stack.sql, workspaceId, runId);
      assertEquals(await enqueueApprovalPush(stack.sql, approvalId), 3);
      // a sweeper elsewhere claimed the APNs row and died holding its lease
      await stack.sql`update private.push_outbox set status = 'sending', attempts = 1,
                        locked_until = now() + interval '1 minute'
                      where workspace_id = ${workspaceId}
                        and device_id in (select id from public.devices where push_token = ${
        tokens[2]
      })`;
      fake.hangAll(true);
      stack.deps.push.deliverSoon();
      await eventually(() => fake.requests >= 2, "the pushes to reach FCM");
      await stack.close();
    }
    fake.hangAll(false);
    assertEquals(fake.received.length, 0);

    // 2. second life over the same database: the released rows and, once its lease has run
    //    out, the dead sweeper's row are delivered, each exactly once
    {
      const stack = await startStack({ env: fake.env, databaseUrl });
      try {
        let rows = await outboxRows(stack.sql, workspaceId);
        assertEquals(
          rows.map((r) => r.status).sort(),
          ["pending", "pending", "sending"],
        );
        assert(
          rows.filter((r) => r.status === "pending").every((r) => r.last_outcome === "released"),
        );
        assertEquals(await stack.deps.push.sweep(), 2);
        await stack.sql`update private.push_outbox set locked_until = now() - interval '1 second'
                        where workspace_id = ${workspaceId} and status = 'sending'`;
        assertEquals(await stack.deps.push.sweep(), 1);
        rows = await outboxRows(stack.sql, workspaceId);
        assertEquals(rows.map((r) => r.status), ["sent", "sent", "sent"]);
        assertEquals(fake.received.map((r) => r.token).sort(), [...tokens].sort());
      } finally {
        await stack.close();
      }
    }
  } finally {
    await dropDatabase(databaseUrl);
    await fake.close();
  }
});

Deno.test("push-dispatch sweeps the outbox only for the bearer secret", async () => {
  const logs: string[] = [];
  const stack = await startStack({
    env: { PUSH_DISPATCH_SECRET: DISPATCH_SECRET },
    overrides: { log: createLogger("info", {}, (line) => logs.push(line)) },
  });
  try {
    const ws = await randomWorkspace(stack.sql, { displayName: "cli" });
    await randomDevice(stack.sql, {
      workspaceId: ws.workspaceId,
      pushToken: "log-provider-token-1234",
    });
    const runId = await randomRun(stack.sql, ws.workspaceId);
    await enqueueApprovalPush(stack.sql, await randomApproval(stack.sql, ws.workspaceId, runId));
    const url = `${stack.functionsUrl}/push-dispatch`;

    for (const authorization of [undefined, "Bearer wrong-secret", `Basic ${DISPATCH_SECRET}`]) {
      const res = await fetchJson(url, {
        method: "POST",
        headers: authorization ? { authorization } : {},
      });
      assertEquals(res.status, 401, String(authorization));
      assertEquals(res.body.error.code, "unauthorized");
    }
    assertEquals((await outboxRows(stack.sql, ws.workspaceId))[0].status, "pending");
    assertEquals((await fetchJson(url, { headers: {} })).status, 405);

    const ok = await fetchJson(url, {
      method: "POST",
      headers: { authorization: `Bearer ${DISPATCH_SECRET}`, "content-type": "application/json" },
      body: "{}",
    });
    assertEquals(ok.status, 200);
    assertEquals(ok.body, { attempted: 1 });
    const [row] = await outboxRows(stack.sql, ws.workspaceId);
    // no credentials configured: the log provider delivered it to the structured log
    assertEquals([row.status, row.provider], ["sent", "log"]);
    const line = logs.map((l) => JSON.parse(l)).find((l) => l.outbox_id === Number(row.id));
    assert(line, "the notification is in the log");
    assertEquals(line.title, "Approval needed · cli");
    assertEquals(line.token, "log-…1234");
  } finally {
    await stack.close();
  }
});

Deno.test("push-dispatch refuses every call when no secret is configured", async () => {
  const stack = await startStack();
  try {
    const res = await fetchJson(`${stack.functionsUrl}/push-dispatch`, {
      method: "POST",
      headers: { authorization: "Bearer anything" },
    });
    assertEquals(res.status, 401);
    assert(/PUSH_DISPATCH_SECRET/.test(res.body.error.message));
  } finally {
    await stack.close();
  }
});

Deno.test("without pg_net the sweep request posts nothing and leaves the row pending", async () => {
  const stack = await startStack();
  try {
    const ws = await randomWorkspace(stack.sql);
    await randomDevice(stack.sql, { workspaceId: ws.workspaceId });
    const runId = await randomRun(stack.sql, ws.workspaceId);
    await enqueueApprovalPush(stack.sql, await randomApproval(stack.sql, ws.workspaceId, runId));
    // a row is due, but there is no pg_net to call push-dispatch with: nothing happens
    const [{ id }] = await stack.sql`select private.request_push_dispatch() as id`;
    assertEquals(id, null);
    assertEquals((await outboxRows(stack.sql, ws.workspaceId))[0].status, "pending");
  } finally {
    await stack.close();
  }
});
