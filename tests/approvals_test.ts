// Approvals end to end over real HTTP and a real database (docs/contract/api.md#approvals).
import * as v from "valibot";
import { assert, assertEquals, assertMatch } from "./_helpers/assert.ts";
import {
  bridgeFetch,
  clearOfRateWindowEdge,
  mintUserToken,
  type Stack,
  withStack,
} from "./_helpers/stack.ts";
import { randomDevice, randomWorkspace } from "./_helpers/fixtures.ts";
import { signedHeaders } from "../shared/signing.ts";
import {
  decideApproval,
  eventually,
  pairedWorkspace,
  requestApproval,
  waitApproval,
} from "./_helpers/approvals.ts";
import {
  ApprovalDecisionResponse,
  ApprovalWaitResponse,
  BridgeApprovalResponse,
} from "../shared/api_schemas.ts";

async function sha256Hex(text: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function countRows(stack: Stack, table: string, where = "true"): Promise<number> {
  const [row] = await stack.sql.unsafe(`select count(*)::int as n from ${table} where ${where}`);
  return row.n;
}

Deno.test("an approval request stores the command, a hash of cwd (never the path), an event and one push per device", async () => {
  await withStack({}, async (stack) => {
    const ws = await pairedWorkspace(stack.sql);
    const tablet = await randomDevice(stack.sql, {
      userId: ws.userId,
      workspaceId: ws.workspaceId,
    });
    const runId = crypto.randomUUID();
    const res = await requestApproval(stack, ws, {
      run_id: runId,
      command: "git push --force",
      cwd: "/Users/ana/clients/acme",
      context: { tool: "Bash" },
      provider: "claude-code",
      expires_in_seconds: 120,
    });
    assertEquals(res.status, 201);
    v.parse(BridgeApprovalResponse, res.body);
    assertEquals(res.body.status, "PENDING");
    const [row] = await stack
      .sql`select * from public.approvals where id = ${res.body.approval_id}`;
    assertEquals(row.command, "git push --force");
    assertEquals(row.cwd_hash, await sha256Hex("/Users/ana/clients/acme"));
    assertEquals(row.run_id, runId);
    assertEquals(row.provider, "claude-code");
    assertEquals(row.context, { tool: "Bash" });
    const seconds = (row.expires_at.getTime() - row.requested_at.getTime()) / 1000;
    assert(Math.abs(seconds - 120) < 1, `expires_at is ${seconds} s after requested_at`);
    const [dump] = await stack.sql`
      select (select string_agg(a::text, '') from public.approvals a) ||
             (select string_agg(e::text, '') from public.events e) as text`;
    assert(!dump.text.includes("/Users/ana"), "the cwd path is stored somewhere");
    const events = await stack.sql`select type, payload from public.events where run_id = ${runId}`;
    assertEquals(events.map((e) => e.type), ["APPROVAL_REQUESTED"]);
    assertEquals(events[0].payload.approval_id, res.body.approval_id);
    assertEquals(events[0].payload.command, "git push --force");
    const pushes = await stack.sql`
      select device_id from private.push_outbox
      where approval_id = ${res.body.approval_id} and kind = 'approval' order by device_id`;
    assertEquals(pushes.map((p) => p.device_id).sort(), [ws.deviceId, tablet.deviceId].sort());
  });
});

Deno.test("a retried request with the same request_key makes no second approval, even concurrently", async () => {
  await withStack({}, async (stack) => {
    const ws = await pairedWorkspace(stack.sql);
    const runId = crypto.randomUUID();
    const body = { run_id: runId, request_key: "toolu_01ABC" };
    const first = await requestApproval(stack, ws, body);
    assertEquals(first.status, 201);
    const again = await requestApproval(stack, ws, body);
    assertEquals(again.status, 200);
    assertEquals(again.body, first.body);

    const copies = await Promise.all(
      Array.from({ length: 8 }, () => requestApproval(stack, ws, { request_key: "toolu_02XYZ" })),
    );
    assertEquals(copies.filter((c) => c.status === 201).length, 1);
    assertEquals(copies.filter((c) => c.status === 200).length, 7);
    assertEquals(new Set(copies.map((c) => c.body.approval_id)).size, 1);
    assertEquals(await countRows(stack, "public.approvals"), 2);
    assertEquals(await countRows(stack, "public.events", "type = 'APPROVAL_REQUESTED'"), 2);
    assertEquals(await countRows(stack, "private.push_outbox"), 2);

    // The key is per workspace: another workspace may use it.
    const other = await pairedWorkspace(stack.sql);
    assertEquals((await requestApproval(stack, other, { request_key: "toolu_01ABC" })).status, 201);
  });
});

Deno.test("an approval request with no paired device is 409 no_device and writes nothing", async () => {
  await withStack({}, async (stack) => {
    const ws = await randomWorkspace(stack.sql);
    const res = await requestApproval(stack, ws);
    assertEquals(res.status, 409);
    assertEquals(res.body.error.code, "no_device");
    assertEquals(await countRows(stack, "public.approvals"), 0);
    assertEquals(await countRows(stack, "public.runs"), 0);
    assertEquals(await countRows(stack, "private.bridge_nonces"), 0);
  });
});

Deno.test("approval requests past RATE_LIMIT_APPROVALS_PER_MINUTE are 429 with Retry-After", async () => {
  await withStack({ RATE_LIMIT_APPROVALS_PER_MINUTE: "2" }, async (stack) => {
    const ws = await pairedWorkspace(stack.sql);
    await clearOfRateWindowEdge();
    assertEquals((await requestApproval(stack, ws)).status, 201);
    assertEquals((await requestApproval(stack, ws)).status, 201);
    const third = await requestApproval(stack, ws);
    assertEquals(third.status, 429);
    assertEquals(third.body.error.code, "rate_limited");
    assert(Number(third.headers.get("retry-after")) >= 1);
    assertEquals(await countRows(stack, "public.approvals"), 2);
  });
});

Deno.test("bad approval requests get the contract's 4xx and write nothing", async () => {
  await withStack({}, async (stack) => {
    const ws = await pairedWorkspace(stack.sql);
    const cases: [Record<string, unknown>, number, string][] = [
      [{ command: "" }, 400, "invalid_request"],
      [{ command: "x".repeat(8193) }, 400, "invalid_request"],
      [{ expires_in_seconds: 29 }, 400, "invalid_request"],
      [{ expires_in_seconds: 3601 }, 400, "invalid_request"],
      [{ kind: "file_write" }, 400, "invalid_request"],
      [{ request_key: "k".repeat(201) }, 400, "invalid_request"],
      [{ run_id: "not-a-uuid" }, 400, "invalid_request"],
      [{ surprise: true }, 400, "invalid_request"],
    ];
    for (const [body, status, code] of cases) {
      const res = await requestApproval(stack, ws, body);
      assertEquals([res.status, res.body.error?.code], [status, code], JSON.stringify(body));
    }
    assertEquals(await countRows(stack, "public.approvals"), 0);
    assertEquals(await countRows(stack, "private.bridge_nonces"), 0);
  });
});

Deno.test("a decision wakes the parked long-poll through LISTEN and the note comes back untouched", async () => {
  // A poll interval of a minute: only the NOTIFY can answer within the test's timeout.
  await withStack({ APPROVAL_WAIT_POLL_MS: "60000" }, async (stack) => {
    const ws = await pairedWorkspace(stack.sql);
    const { body: approval } = await requestApproval(stack, ws);
    const waiting = waitApproval(stack, ws, approval.approval_id, 60);
    await eventually(() => stack.deps.waiter.stats().parked === 1, "the wait to park");
    await eventually(() => stack.deps.waiter.stats().listening, "LISTEN");
    const note = "  Use `make test` first.\nThen: ✅ go  ";
    const decision = await decideApproval(stack, ws.token, approval.approval_id, {
      decision: "APPROVE",
      note,
    });
    assertEquals(decision.status, 200);
    v.parse(ApprovalDecisionResponse, decision.body);
    assertEquals(decision.body.decided_by_device_id, ws.deviceId);
    const answer = await waiting;
    assertEquals(answer.status, 200);
    v.parse(ApprovalWaitResponse, answer.body);
    assertEquals(answer.body.status, "APPROVED");
    assertEquals(answer.body.note, note);
    assertEquals(answer.body.decided_at, decision.body.decided_at);
    assertEquals(answer.body.expires_at, approval.expires_at);
  });
});

Deno.test("with LISTEN disabled a decision wakes the long-poll through the batched poll", async () => {
  await withStack(
    { APPROVAL_WAIT_LISTEN: "false", APPROVAL_WAIT_POLL_MS: "100" },
    async (stack) => {
      const ws = await pairedWorkspace(stack.sql);
      const { body: approval } = await requestApproval(stack, ws);
      const waiting = waitApproval(stack, ws, approval.approval_id, 60);
      await eventually(() => stack.deps.waiter.stats().parked === 1, "the wait to park");
      const decision = await decideApproval(stack, ws.token, approval.approval_id, {
        decision: "DENY",
        note: "not on main",
      });
      assertEquals(decision.status, 200);
      const answer = await waiting;
      assertEquals(answer.body.status, "DENIED");
      assertEquals(answer.body.note, "not on main");
      assertEquals(stack.deps.waiter.stats().listening, false);
      const [listeners] = await stack.sql`
      select count(*)::int as n from pg_stat_activity
      where application_name = 'agentops-waiter' and datname = current_database()`;
      assertEquals(listeners.n, 0);
    },
  );
});

Deno.test("a wait answers at once when decided, with timeout=0, and 404 for another workspace's approval", async () => {
  await withStack({}, async (stack) => {
    const ws = await pairedWorkspace(stack.sql);
    const { body: approval } = await requestApproval(stack, ws);
    const now = await waitApproval(stack, ws, approval.approval_id, 0);
    assertEquals(now.status, 200);
    assertEquals(now.body, {
      approval_id: approval.approval_id,
      status: "PENDING",
      note: null,
      decided_at: null,
      expires_at: approval.expires_at,
      // the log provider (no push credentials here) notifies no device
      devices_notified: 0,
    });
    await decideApproval(stack, ws.token, approval.approval_id, { decision: "DENY" });
    const decided = await waitApproval(stack, ws, approval.approval_id, 60);
    assertEquals(decided.body.status, "DENIED");
    assertEquals(decided.body.note, null);

    const other = await pairedWorkspace(stack.sql);
    const nonces = await countRows(stack, "private.bridge_nonces");
    const foreign = await waitApproval(stack, other, approval.approval_id, 0);
    assertEquals(foreign.status, 404);
    assertEquals(foreign.body.error.code, "not_found");
    const missing = await waitApproval(stack, other, crypto.randomUUID(), 0);
    assertEquals(missing.status, 404);
    assertEquals(missing.body.error.message, foreign.body.error.message);
    assertEquals(await countRows(stack, "private.bridge_nonces"), nonces);

    const bad = await bridgeFetch(
      stack,
      ws,
      "GET",
      `/bridge-approval-wait/${approval.approval_id}?timeout=121`,
    );
    assertEquals(bad.status, 400);
    assertEquals((await bad.json()).error.code, "invalid_request");
    const notUuid = await bridgeFetch(stack, ws, "GET", `/bridge-approval-wait/nope`);
    assertEquals(notUuid.status, 404);
    await notUuid.body?.cancel();
  });
});

Deno.test("the wait's timeout is capped by APPROVAL_WAIT_MAX_SECONDS and then answers PENDING", async () => {
  await withStack({ APPROVAL_WAIT_MAX_SECONDS: "1" }, async (stack) => {
    const ws = await pairedWorkspace(stack.sql);
    const { body: approval } = await requestApproval(stack, ws);
    const answer = await waitApproval(stack, ws, approval.approval_id, 120);
    assertEquals(answer.status, 200);
    assertEquals(answer.body.status, "PENDING");
    assertEquals(stack.deps.waiter.stats().parked, 0);
  });
});

Deno.test("an approval's expires_at wakes its long-poll with EXPIRED, recorded once", async () => {
  await withStack({ APPROVAL_WAIT_POLL_MS: "60000" }, async (stack) => {
    // keep the outbox unsent (the push tests deliver it): this checks what settling does to it
    stack.deps.push.deliverSoon = () => {};
    const ws = await pairedWorkspace(stack.sql);
    const { body: approval } = await requestApproval(stack, ws);
    // Two long-polls on the same approval, then the approval's expiry is brought near.
    await stack.sql`update public.approvals set expires_at = now() + interval '1 second'
                    where id = ${approval.approval_id}`;
    const [a, b] = await Promise.all([
      waitApproval(stack, ws, approval.approval_id, 60),
      waitApproval(stack, ws, approval.approval_id, 60),
    ]);
    assertEquals([a.body.status, b.body.status], ["EXPIRED", "EXPIRED"]);
    const [row] = await stack.sql`select status from public.approvals
                                  where id = ${approval.approval_id}`;
    assertEquals(row.status, "EXPIRED");
    assertEquals(await countRows(stack, "public.events", "type = 'APPROVAL_EXPIRED'"), 1);
    assertEquals(
      await countRows(stack, "private.push_outbox", "kind = 'approval' and status = 'dropped'"),
      1,
    );
    assertEquals(await countRows(stack, "private.push_outbox", "kind = 'approval_clear'"), 1);
    // And a read after expiry answers EXPIRED at once.
    const later = await waitApproval(stack, ws, approval.approval_id, 60);
    assertEquals(later.body.status, "EXPIRED");
  });
});

Deno.test("a wait on an approval past expires_at expires it on the first read even if no job ran", async () => {
  await withStack({}, async (stack) => {
    const ws = await pairedWorkspace(stack.sql);
    const { body: approval } = await requestApproval(stack, ws);
    await stack.sql`update public.approvals set expires_at = now() - interval '1 second'
                    where id = ${approval.approval_id}`;
    const answer = await waitApproval(stack, ws, approval.approval_id, 60);
    assertEquals(answer.body.status, "EXPIRED");
    assertEquals(await countRows(stack, "public.events", "type = 'APPROVAL_EXPIRED'"), 1);
    const retried = await requestApproval(stack, ws, { request_key: "k1" });
    assertEquals(retried.status, 201);
  });
});

Deno.test("a decision past expires_at is 409 expired, and the expiry is kept", async () => {
  await withStack({}, async (stack) => {
    const ws = await pairedWorkspace(stack.sql);
    const { body: approval } = await requestApproval(stack, ws);
    await stack.sql`update public.approvals set expires_at = now() - interval '1 second'
                    where id = ${approval.approval_id}`;
    for (const decision of ["APPROVE", "DENY"]) {
      const res = await decideApproval(stack, ws.token, approval.approval_id, { decision });
      assertEquals(res.status, 409);
      assertEquals(res.body.error.code, "expired");
      assertEquals(res.body.error.details.status, "EXPIRED");
    }
    const [row] = await stack.sql`select status, decided_at, note from public.approvals
                                  where id = ${approval.approval_id}`;
    assertEquals([row.status, row.decided_at, row.note], ["EXPIRED", null, null]);
    assertEquals(await countRows(stack, "public.events", "type = 'APPROVAL_EXPIRED'"), 1);
    assertEquals(await countRows(stack, "public.events", "type = 'APPROVAL_DECIDED'"), 0);
  });
});

Deno.test("a repeated decision answers the stored result; a different one is 409 already_decided", async () => {
  await withStack({}, async (stack) => {
    const ws = await pairedWorkspace(stack.sql);
    const { body: approval } = await requestApproval(stack, ws);
    const first = await decideApproval(stack, ws.token, approval.approval_id, {
      decision: "APPROVE",
      note: "first note",
    });
    assertEquals(first.status, 200);
    const repeat = await decideApproval(stack, ws.token, approval.approval_id, {
      decision: "APPROVE",
      note: "second note",
    });
    assertEquals(repeat.status, 200);
    assertEquals(repeat.body, first.body);
    const flip = await decideApproval(stack, ws.token, approval.approval_id, { decision: "DENY" });
    assertEquals(flip.status, 409);
    assertEquals(flip.body.error.code, "already_decided");
    assertEquals(flip.body.error.details, first.body);
    // The same decision by another user of the workspace is not theirs to repeat.
    const other = await randomDevice(stack.sql, { workspaceId: ws.workspaceId });
    const otherToken = await mintUserToken(other.userId);
    const theirs = await decideApproval(stack, otherToken, approval.approval_id, {
      decision: "APPROVE",
    });
    assertEquals(theirs.status, 409);
    assertEquals(theirs.body.error.details, first.body);
    assertEquals(await countRows(stack, "public.events", "type = 'APPROVAL_DECIDED'"), 1);
  });
});

Deno.test("a decision drops the approval's unsent pushes and clears it on the other devices", async () => {
  await withStack({}, async (stack) => {
    // keep the outbox unsent (the push tests deliver it): this checks what settling does to it
    stack.deps.push.deliverSoon = () => {};
    const ws = await pairedWorkspace(stack.sql);
    const tablet = await randomDevice(stack.sql, {
      userId: ws.userId,
      workspaceId: ws.workspaceId,
    });
    const spouse = await randomDevice(stack.sql, { workspaceId: ws.workspaceId });
    const { body: approval } = await requestApproval(stack, ws, { command: "deploy" });
    const res = await decideApproval(stack, ws.token, approval.approval_id, {
      decision: "APPROVE",
      device_id: tablet.deviceId,
    });
    assertEquals(res.status, 200);
    assertEquals(res.body.decided_by_device_id, tablet.deviceId);
    const rows = await stack.sql`
      select device_id, kind, status, message from private.push_outbox
      where approval_id = ${approval.approval_id} order by id`;
    assertEquals(rows.filter((r) => r.kind === "approval").map((r) => r.status), [
      "dropped",
      "dropped",
      "dropped",
    ]);
    const clears = rows.filter((r) => r.kind === "approval_clear");
    assertEquals(
      clears.map((r) => r.device_id).sort(),
      [ws.deviceId, spouse.deviceId].sort(),
    );
    assertEquals(clears[0].message.silent, true);
    const [event] = await stack.sql`
      select payload from public.events where type = 'APPROVAL_DECIDED'`;
    assertEquals(event.payload.decided_by_device_id, tablet.deviceId);
    assertEquals(event.payload.decided_by_user_id, ws.userId);
    assertEquals(event.payload.status, "APPROVED");
    const [chain] = await stack.sql`
      select ok from private.verify_event_chain(
        (select run_id from public.approvals where id = ${approval.approval_id}))`;
    assertEquals(chain.ok, true);
    // The run counts as active when its approval is decided (recent runs, retention).
    const [run] = await stack.sql`
      select r.last_event_at >= a.decided_at as touched, r.status
      from public.approvals a join public.runs r on r.id = a.run_id
      where a.id = ${approval.approval_id}`;
    assertEquals([run.touched, run.status], [true, "RUNNING"]);
  });
});

Deno.test("a decision needs device_id only when the user has several devices in the workspace", async () => {
  await withStack({}, async (stack) => {
    const ws = await pairedWorkspace(stack.sql);
    await randomDevice(stack.sql, { userId: ws.userId, workspaceId: ws.workspaceId });
    const { body: approval } = await requestApproval(stack, ws);
    const res = await decideApproval(stack, ws.token, approval.approval_id, { decision: "DENY" });
    assertEquals(res.status, 400);
    assertEquals(res.body.error.code, "invalid_request");
    // A device of the user that is not paired with the workspace, and another user's.
    const unpaired = await randomDevice(stack.sql, { userId: ws.userId });
    const stranger = await randomDevice(stack.sql, { workspaceId: ws.workspaceId });
    for (const deviceId of [unpaired.deviceId, stranger.deviceId]) {
      const r = await decideApproval(stack, ws.token, approval.approval_id, {
        decision: "DENY",
        device_id: deviceId,
      });
      assertEquals(r.status, 404);
      assertEquals(r.body.error.code, "not_found");
    }
    const [row] = await stack.sql`select status from public.approvals
                                  where id = ${approval.approval_id}`;
    assertEquals(row.status, "PENDING");
    assertEquals(await countRows(stack, "private.push_outbox", "kind = 'approval_clear'"), 0);
  });
});

Deno.test("another user's or another workspace's approval is 404, like one that does not exist", async () => {
  await withStack({}, async (stack) => {
    const ws = await pairedWorkspace(stack.sql);
    const { body: approval } = await requestApproval(stack, ws);
    const outsider = await pairedWorkspace(stack.sql); // paired with another workspace
    const loner = await mintUserToken(crypto.randomUUID()); // no device at all
    const missing = await decideApproval(stack, ws.token, crypto.randomUUID(), {
      decision: "APPROVE",
    });
    assertEquals(missing.status, 404);
    for (const token of [outsider.token, loner]) {
      const res = await decideApproval(stack, token, approval.approval_id, {
        decision: "APPROVE",
      });
      assertEquals(res.status, 404);
      assertEquals(res.body.error, missing.body.error);
    }
    const [row] = await stack.sql`select status from public.approvals
                                  where id = ${approval.approval_id}`;
    assertEquals(row.status, "PENDING");
  });
});

Deno.test("bad decisions get the contract's 4xx", async () => {
  await withStack({}, async (stack) => {
    const ws = await pairedWorkspace(stack.sql);
    const { body: approval } = await requestApproval(stack, ws);
    const cases: [Record<string, unknown>, string][] = [
      [{ decision: "MAYBE" }, "invalid_request"],
      [{}, "invalid_request"],
      [{ decision: "APPROVE", note: "n".repeat(2001) }, "invalid_request"],
      [{ decision: "APPROVE", device_id: "phone" }, "invalid_request"],
      [{ decision: "APPROVE", extra: 1 }, "invalid_request"],
    ];
    for (const [body, code] of cases) {
      const res = await decideApproval(stack, ws.token, approval.approval_id, body);
      assertEquals([res.status, res.body.error?.code], [400, code], JSON.stringify(body));
    }
    const anonymous = await decideApproval(stack, "not-a-jwt", approval.approval_id, {
      decision: "APPROVE",
    });
    assertEquals(anonymous.status, 401);
    const [row] = await stack.sql`select status from public.approvals
                                  where id = ${approval.approval_id}`;
    assertEquals(row.status, "PENDING");
  });
});

Deno.test("50 concurrent mixed decisions by several users have exactly one outcome", async () => {
  await withStack({}, async (stack) => {
    const ws = await pairedWorkspace(stack.sql);
    const users = [{ userId: ws.userId, token: ws.token }];
    for (let i = 0; i < 4; i++) {
      const d = await randomDevice(stack.sql, { workspaceId: ws.workspaceId });
      users.push({ userId: d.userId, token: await mintUserToken(d.userId) });
    }
    const { body: approval } = await requestApproval(stack, ws);
    const waiting = waitApproval(stack, ws, approval.approval_id, 60);
    const attempts = Array.from({ length: 50 }, (_, i) => ({
      user: users[i % users.length],
      decision: i % 3 === 0 ? "DENY" : "APPROVE",
    }));
    const results = await Promise.all(
      attempts.map((a) =>
        decideApproval(stack, a.user.token, approval.approval_id, {
          decision: a.decision,
          note: `from ${a.user.userId}`,
        })
      ),
    );
    const [stored] = await stack.sql`select * from public.approvals
                                     where id = ${approval.approval_id}`;
    const winner = `${stored.decided_by_user_id}:${stored.status}`;
    for (const [i, res] of results.entries()) {
      const a = attempts[i];
      const mine = `${a.user.userId}:${a.decision === "APPROVE" ? "APPROVED" : "DENIED"}`;
      if (mine === winner) {
        assertEquals(res.status, 200);
        assertEquals(res.body.status, stored.status);
        assertEquals(res.body.note, stored.note);
      } else {
        assertEquals(res.status, 409);
        assertEquals(res.body.error.code, "already_decided");
        assertEquals(res.body.error.details.status, stored.status);
        assertEquals(res.body.error.details.note, stored.note);
      }
    }
    assertEquals(stored.note, `from ${stored.decided_by_user_id}`);
    assertEquals(await countRows(stack, "public.events", "type = 'APPROVAL_DECIDED'"), 1);
    const answer = await waiting;
    assertEquals(answer.body.status, stored.status);
    assertEquals(answer.body.note, stored.note);
  });
});

Deno.test("shutdown answers every parked long-poll PENDING at once", async () => {
  await withStack({}, async (stack) => {
    const ws = await pairedWorkspace(stack.sql);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await requestApproval(stack, ws)).body.approval_id);
    const waits = ids.map((id) => waitApproval(stack, ws, id, 120));
    await eventually(() => stack.deps.waiter.stats().parked === 3, "three waits to park");
    stack.deps.waiter.shutdown();
    assertEquals(stack.deps.waiter.stats().parked, 0);
    const answers = await Promise.all(waits);
    assertEquals(answers.map((a) => [a.status, a.body.status]), [
      [200, "PENDING"],
      [200, "PENDING"],
      [200, "PENDING"],
    ]);
    for (const a of answers) assertMatch(a.body.expires_at, /Z$/);
  });
});

Deno.test("an approval request for another workspace's run is 409 conflict and writes nothing", async () => {
  await withStack({}, async (stack) => {
    const owner = await pairedWorkspace(stack.sql);
    const runId = crypto.randomUUID();
    assertEquals((await requestApproval(stack, owner, { run_id: runId })).status, 201);
    const intruder = await pairedWorkspace(stack.sql);
    const res = await requestApproval(stack, intruder, { run_id: runId });
    assertEquals(res.status, 409);
    assertEquals(res.body.error.code, "conflict");
    assertEquals(await countRows(stack, "public.approvals"), 1);
    assertEquals(
      await countRows(stack, "private.bridge_nonces", `workspace_id = '${intruder.workspaceId}'`),
      0,
    );
  });
});

Deno.test("a request_key replayed after the decision answers 200 with the decided approval", async () => {
  await withStack({}, async (stack) => {
    const ws = await pairedWorkspace(stack.sql);
    const body = { request_key: "toolu_03", run_id: crypto.randomUUID() };
    const first = await requestApproval(stack, ws, body);
    await decideApproval(stack, ws.token, first.body.approval_id, { decision: "APPROVE" });
    const again = await requestApproval(stack, ws, body);
    assertEquals(again.status, 200);
    assertEquals(again.body.approval_id, first.body.approval_id);
    assertEquals(again.body.status, "APPROVED");
  });
});

Deno.test("the seed's v1 signature works for the request and the wait", async () => {
  await withStack({}, async (stack) => {
    const ws = await pairedWorkspace(stack.sql);
    const res = await bridgeFetch(stack, ws, "POST", "/bridge-approval-request", {
      run_id: crypto.randomUUID(),
      command: "ls",
      cwd: "",
    }, { version: 1 });
    assertEquals(res.status, 201);
    const { approval_id } = await res.json();
    const wait = await bridgeFetch(
      stack,
      ws,
      "GET",
      `/bridge-approval-wait/${approval_id}?timeout=0`,
      undefined,
      { version: 1 },
    );
    assertEquals(wait.status, 200);
    assertEquals((await wait.json()).status, "PENDING");
  });
});

Deno.test("concurrent reads and decisions of a due approval expire it exactly once", async () => {
  await withStack({}, async (stack) => {
    const ws = await pairedWorkspace(stack.sql);
    const { body: approval } = await requestApproval(stack, ws);
    await stack.sql`update public.approvals set expires_at = now() - interval '1 second'
                    where id = ${approval.approval_id}`;
    const [waits, decisions] = await Promise.all([
      Promise.all(
        Array.from({ length: 15 }, () => waitApproval(stack, ws, approval.approval_id, 30)),
      ),
      Promise.all(
        Array.from(
          { length: 15 },
          () => decideApproval(stack, ws.token, approval.approval_id, { decision: "APPROVE" }),
        ),
      ),
    ]);
    for (const w of waits) assertEquals(w.body.status, "EXPIRED");
    for (const d of decisions) assertEquals([d.status, d.body.error.code], [409, "expired"]);
    assertEquals(await countRows(stack, "public.events", "type = 'APPROVAL_EXPIRED'"), 1);
    assertEquals(await countRows(stack, "private.push_outbox", "kind = 'approval_clear'"), 1);
  });
});

Deno.test("clients cannot call the approval functions directly", async () => {
  await withStack({}, async (stack) => {
    const ws = await pairedWorkspace(stack.sql);
    const { body: approval } = await requestApproval(stack, ws);
    for (const role of ["authenticated", "anon"]) {
      for (
        const call of [
          `private.decide_approval('${ws.userId}', '${approval.approval_id}', 'APPROVE', null, null)`,
          `private.settle_approvals(array['${approval.approval_id}'::uuid])`,
          `private.mark_approvals_delivered(array['${approval.approval_id}'::uuid])`,
          `private.expire_due_approvals(array['${approval.approval_id}'::uuid])`,
        ]
      ) {
        let code = "";
        try {
          await stack.sql.begin(async (tx) => {
            await tx.unsafe(`set local role ${role}`);
            await tx.unsafe(`select ${call}`);
          });
        } catch (error) {
          code = (error as { code?: string }).code ?? String(error);
        }
        assertEquals(code, "42501", `${role}: ${call}`);
      }
    }
    const [row] = await stack.sql`select status from public.approvals
                                  where id = ${approval.approval_id}`;
    assertEquals(row.status, "PENDING");
  });
});

Deno.test("a long-poll whose client hangs up is released from the waiter", async () => {
  await withStack({}, async (stack) => {
    const ws = await pairedWorkspace(stack.sql);
    const { body: approval } = await requestApproval(stack, ws);
    const path = `/bridge-approval-wait/${approval.approval_id}`;
    const headers = await signedHeaders({
      workspaceId: ws.workspaceId,
      secret: ws.secret,
      method: "GET",
      path,
      query: "timeout=120",
    });
    const controller = new AbortController();
    const waiting = fetch(`${stack.functionsUrl}${path}?timeout=120`, {
      headers,
      signal: controller.signal,
    }).catch((error) => error);
    await eventually(() => stack.deps.waiter.stats().parked === 1, "the wait to park");
    controller.abort();
    await waiting;
    await eventually(() => stack.deps.waiter.stats().parked === 0, "the waiter to let go");
  });
});

Deno.test("a decision starts a push sweep after its response only when it queued a clear push for another device", async () => {
  await withStack({}, async (stack) => {
    let sweeps = 0;
    stack.deps.push.deliverSoon = () => void sweeps++;
    // one device: nothing to clear elsewhere, no sweep
    const alone = await pairedWorkspace(stack.sql);
    const { body: first } = await requestApproval(stack, alone);
    sweeps = 0;
    const decided = await decideApproval(stack, alone.token, first.approval_id, {
      decision: "APPROVE",
    });
    assertEquals(decided.status, 200);
    assertEquals(sweeps, 0);
    assertEquals(
      await countRows(
        stack,
        "private.push_outbox",
        `approval_id = '${first.approval_id}'
                      and kind = 'approval_clear'`,
      ),
      0,
    );
    // the same decision repeated: nothing queued, no sweep
    await decideApproval(stack, alone.token, first.approval_id, { decision: "APPROVE" });
    assertEquals(sweeps, 0);

    // a second device of the workspace: its silent clear is queued and swept
    const other = await randomDevice(stack.sql, { workspaceId: alone.workspaceId });
    const { body: second } = await requestApproval(stack, alone);
    sweeps = 0;
    const again = await decideApproval(stack, alone.token, second.approval_id, {
      decision: "DENY",
      device_id: alone.deviceId,
    });
    assertEquals(again.status, 200);
    assertEquals(sweeps, 1);
    const [clear] = await stack.sql`select device_id from private.push_outbox
      where approval_id = ${second.approval_id} and kind = 'approval_clear'`;
    assertEquals(clear.device_id, other.deviceId);
  });
});
