// The web app's reads (issue 18, docs/web-api.md) over real HTTP and a real database:
// mobile-inbox (its long-poll woken by a signed bridge request, its cursor), mobile-runs,
// mobile-run-events (the hash chain recomputed as the browser does), mobile-workspaces,
// and another user who sees none of it.
import * as v from "valibot";
import { assert, assertEquals, assertNotEquals } from "./_helpers/assert.ts";
import { fetchJson, type Json, mintUserToken, type Stack, withStack } from "./_helpers/stack.ts";
import { randomDevice, randomWorkspace, type TestWorkspace } from "./_helpers/fixtures.ts";
import {
  decideApproval,
  eventually,
  insertPendingApproval,
  requestApproval,
  waitApproval,
} from "./_helpers/approvals.ts";
import { eventBody, postEvent } from "./_helpers/events.ts";
import { startPairing } from "./_helpers/pairing.ts";
import {
  MobileInboxResponse,
  MobileRunEventsResponse,
  MobileRunsResponse,
  MobileWorkspacesResponse,
} from "../shared/api_schemas.ts";

function get(stack: Stack, token: string, path: string, signal?: AbortSignal) {
  return fetchJson(`${stack.functionsUrl}${path}`, {
    headers: { authorization: `Bearer ${token}` },
    signal,
  });
}

interface User {
  userId: string;
  deviceId: string;
  token: string;
}

/** A user with one device paired with each given workspace. */
async function userOf(stack: Stack, workspaces: TestWorkspace[]): Promise<User> {
  const userId = crypto.randomUUID();
  const { deviceId } = await randomDevice(stack.sql, { userId, platform: "web" });
  for (const ws of workspaces) {
    await stack.sql`insert into public.workspace_devices (workspace_id, device_id)
                    values (${ws.workspaceId}, ${deviceId})`;
  }
  return { userId, deviceId, token: await mintUserToken(userId) };
}

/** The browser's check (docs/web-api.md): seq, prev_hash and hash of every event. */
async function firstBrokenSeq(events: Json[], prevHash: string | null = null): Promise<number> {
  let prev = prevHash;
  let seq = events[0]?.seq ?? 1;
  for (const e of events) {
    const text = `${
      e.prev_hash ?? ""
    }|${e.seq}|${e.type}|${e.event_ts}|${e.created_at}|${e.payload_text}`;
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
    const hash = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0"))
      .join("");
    if (e.seq !== seq || e.prev_hash !== prev || hash !== e.hash) return e.seq;
    prev = e.hash;
    seq++;
  }
  return 0;
}

Deno.test("mobile-inbox: pending approvals of every paired workspace, newest first, with project, agent and the policy's risk; another user sees none", async () => {
  await withStack({}, async (stack) => {
    const ws1 = await randomWorkspace(stack.sql, { displayName: "alpha" });
    const ws2 = await randomWorkspace(stack.sql, { displayName: "beta" });
    const wsB = await randomWorkspace(stack.sql, { displayName: "other tenant" });
    const a = await userOf(stack, [ws1, ws2]);
    const b = await userOf(stack, [wsB]);

    const first = await requestApproval(stack, ws1, {
      command: "rm -rf build",
      provider: "cursor",
    });
    assertEquals(first.status, 201, JSON.stringify(first.body));
    const second = await requestApproval(stack, ws2, {
      command: "npm test",
      provider: "claude-code",
    });
    assertEquals(second.status, 201, JSON.stringify(second.body));
    const third = await requestApproval(stack, wsB, { command: "ls" });
    assertEquals(third.status, 201);

    const res = await get(stack, a.token, "/mobile-inbox");
    assertEquals(res.status, 200, JSON.stringify(res.body));
    v.parse(MobileInboxResponse, res.body);
    assertEquals(res.body.workspace_ids.sort(), [ws1.workspaceId, ws2.workspaceId].sort());
    assertEquals(res.body.pending.map((i: Json) => i.approval_id), [
      second.body.approval_id,
      first.body.approval_id,
    ]);
    const [npm, rm] = res.body.pending;
    assertEquals(
      [npm.project_name, npm.agent, npm.command, npm.status, npm.risk, npm.requires_unlock],
      ["beta", "claude-code", "npm test", "PENDING", "other", false],
    );
    assertEquals(
      [rm.project_name, rm.agent, rm.risk, rm.requires_unlock, rm.workspace_id],
      ["alpha", "cursor", "dangerous", true, ws1.workspaceId],
    );
    assert(rm.risk_reason.length > 0);
    assertEquals(res.body.recent, []);
    assertEquals(res.headers.get("access-control-allow-origin"), "*");

    const other = await get(stack, b.token, "/mobile-inbox");
    assertEquals(other.status, 200);
    assertEquals(other.body.workspace_ids, [wsB.workspaceId]);
    assertEquals(other.body.pending.map((i: Json) => i.approval_id), [third.body.approval_id]);

    const nobody = await get(stack, await mintUserToken(crypto.randomUUID()), "/mobile-inbox");
    assertEquals([nobody.body.workspace_ids, nobody.body.pending], [[], []]);

    assertEquals((await get(stack, "not-a-jwt", "/mobile-inbox")).status, 401);
  });
});

Deno.test("mobile-inbox?wait parks until a signed bridge request asks for approval, woken by NOTIFY on the shared LISTEN connection", async () => {
  // The batched poll is a minute apart: only the notification can wake it within the wait.
  await withStack({ MOBILE_WAIT_POLL_MS: "60000" }, async (stack) => {
    const ws = await randomWorkspace(stack.sql, { displayName: "gamma" });
    const user = await userOf(stack, [ws]);
    const before = await get(stack, user.token, "/mobile-inbox");
    assertEquals(before.body.pending, []);

    const parked = get(stack, user.token, `/mobile-inbox?wait=30&since=${before.body.cursor}`);
    await eventually(() => stack.deps.reads.stats().parked === 1, "the inbox long-poll to park");
    await eventually(() => stack.deps.listener.listening, "the shared LISTEN connection to be up");

    const requested = await requestApproval(stack, ws, { command: "git push" });
    assertEquals(requested.status, 201);
    const woken = await parked;
    assertEquals(woken.status, 200);
    assertNotEquals(woken.body.cursor, before.body.cursor);
    assertEquals(woken.body.pending.map((i: Json) => i.approval_id), [requested.body.approval_id]);

    // A decision from the phone wakes it too, and moves the approval to `recent`.
    const parkedAgain = get(stack, user.token, `/mobile-inbox?wait=30&since=${woken.body.cursor}`);
    await eventually(() => stack.deps.reads.stats().parked === 1, "the second long-poll to park");
    const decided = await decideApproval(stack, user.token, requested.body.approval_id, {
      decision: "DENY",
      note: "not on Friday",
    });
    assertEquals(decided.status, 200, JSON.stringify(decided.body));
    const after = await parkedAgain;
    assertEquals(after.body.pending, []);
    const [item] = after.body.recent;
    assertEquals(
      [item.approval_id, item.status, item.note, item.decided_by_device_id, item.delivered_at],
      [requested.body.approval_id, "DENIED", "not on Friday", user.deviceId, null],
    );

    // The hook runner receives the answer: delivered_at ("the agent has your answer").
    const parkedThird = get(stack, user.token, `/mobile-inbox?wait=30&since=${after.body.cursor}`);
    await eventually(() => stack.deps.reads.stats().parked === 1, "the third long-poll to park");
    assertEquals(
      (await waitApproval(stack, ws, requested.body.approval_id, 0)).body.status,
      "DENIED",
    );
    const delivered = await parkedThird;
    assert(delivered.body.recent[0].delivered_at !== null, JSON.stringify(delivered.body));

    // Pairing this device with another workspace wakes it too (NOTIFY workspace_paired).
    const parkedFourth = get(
      stack,
      user.token,
      `/mobile-inbox?wait=30&since=${delivered.body.cursor}`,
    );
    await eventually(() => stack.deps.reads.stats().parked === 1, "the fourth long-poll to park");
    const started = await startPairing(stack);
    const paired = await fetchJson(`${stack.functionsUrl}/pair-complete`, {
      method: "POST",
      headers: { authorization: `Bearer ${user.token}`, "content-type": "application/json" },
      body: JSON.stringify({
        pair_token: started.pair_token,
        platform: "web",
        device_id: user.deviceId,
      }),
    });
    assertEquals(paired.status, 200, JSON.stringify(paired.body));
    const widened = await parkedFourth;
    assertEquals(widened.body.workspace_ids.sort(), [ws.workspaceId, started.workspace_id].sort());
  });
});

Deno.test("mobile-inbox cursor: equal while nothing changes, a stale one answers at once, an expiry wakes a parked poll", async () => {
  await withStack({ MOBILE_WAIT_POLL_MS: "60000" }, async (stack) => {
    const ws = await randomWorkspace(stack.sql);
    const user = await userOf(stack, [ws]);
    const one = await get(stack, user.token, "/mobile-inbox");
    const two = await get(stack, user.token, "/mobile-inbox?wait=0");
    assertEquals(one.body.cursor, two.body.cursor);

    // An approval written without NOTIFY listeners in between: `since` is stale, so the
    // long-poll answers at once with the new state (no park).
    const approvalId = await insertPendingApproval(stack.sql, ws.workspaceId);
    const stale = await get(stack, user.token, `/mobile-inbox?wait=30&since=${one.body.cursor}`);
    assertNotEquals(stale.body.cursor, one.body.cursor);
    assertEquals(stale.body.pending.map((i: Json) => i.approval_id), [approvalId]);
    assertEquals(stack.deps.reads.stats().reads, 0, "answered without parking");

    // Parked on the current cursor: the approval's expiry (no NOTIFY for it, the poll a
    // minute apart) wakes it, and the approval shows as EXPIRED in `recent`.
    await stack.sql`update public.approvals set expires_at = now() + interval '3 seconds'
                    where id = ${approvalId}`;
    const current = await get(stack, user.token, "/mobile-inbox");
    const expired = await get(
      stack,
      user.token,
      `/mobile-inbox?wait=30&since=${current.body.cursor}`,
    );
    assertEquals(expired.body.pending, []);
    assertEquals(expired.body.recent.map((i: Json) => [i.approval_id, i.status]), [
      [approvalId, "EXPIRED"],
    ]);

    // `recent=0` leaves settled approvals out.
    const none = await get(stack, user.token, "/mobile-inbox?recent=0");
    assertEquals(none.body.recent, []);
  });
});

Deno.test("mobile-inbox?wait: a user parks 4 long-polls at most (429 with Retry-After beyond); bad query values are 400", async () => {
  await withStack({}, async (stack) => {
    const ws = await randomWorkspace(stack.sql);
    const user = await userOf(stack, [ws]);
    const { body } = await get(stack, user.token, "/mobile-inbox");
    const abort = new AbortController();
    const parked = Array.from(
      { length: 4 },
      () =>
        get(stack, user.token, `/mobile-inbox?wait=30&since=${body.cursor}`, abort.signal).catch(
          () => null,
        ),
    );
    await eventually(() => stack.deps.reads.stats().parked === 4, "four long-polls to park");
    const refused = await get(stack, user.token, `/mobile-inbox?wait=30&since=${body.cursor}`);
    assertEquals([refused.status, refused.body.error.code], [429, "rate_limited"]);
    assertEquals(refused.headers.get("retry-after"), "2");
    // another user is not limited by this one
    const other = await userOf(stack, [ws]);
    const otherBody = (await get(stack, other.token, "/mobile-inbox")).body;
    const otherAbort = new AbortController();
    const otherParked = get(
      stack,
      other.token,
      `/mobile-inbox?wait=30&since=${otherBody.cursor}`,
      otherAbort.signal,
    ).catch(() => null);
    await eventually(() => stack.deps.reads.stats().parked === 5, "the other user's poll to park");
    abort.abort();
    otherAbort.abort();
    await Promise.all([...parked, otherParked]);
    await eventually(() => stack.deps.reads.stats().reserved === 0, "every place to be freed");

    for (
      const query of ["wait=31", "wait=-1", "wait=x", "recent=51", "since=", "since=a%20b"]
    ) {
      const res = await get(stack, user.token, `/mobile-inbox?${query}`);
      assertEquals([res.status, res.body.error.code], [400, "invalid_request"], query);
    }
  });
});

Deno.test("mobile-runs: recent runs with status and last message, per workspace or all; another user's workspace is not_found", async () => {
  await withStack({}, async (stack) => {
    const ws1 = await randomWorkspace(stack.sql, { displayName: "alpha" });
    const ws2 = await randomWorkspace(stack.sql, { displayName: "beta" });
    const user = await userOf(stack, [ws1, ws2]);
    const other = await userOf(stack, []);
    const run1 = crypto.randomUUID();
    const run2 = crypto.randomUUID();
    for (
      const [ws, body] of [
        [ws1, eventBody(ws1.workspaceId, { run_id: run1, event_type: "RUN_STARTED" })],
        [ws2, eventBody(ws2.workspaceId, { run_id: run2, event_type: "RUN_STARTED" })],
        [
          ws1,
          eventBody(ws1.workspaceId, {
            run_id: run1,
            event_type: "RUN_COMPLETED",
            payload: { message: "all tests pass" },
          }),
        ],
      ] as const
    ) {
      assertEquals((await postEvent(stack, ws, body)).status, 202);
    }
    const all = await get(stack, user.token, "/mobile-runs");
    assertEquals(all.status, 200, JSON.stringify(all.body));
    v.parse(MobileRunsResponse, all.body);
    assertEquals(all.body.runs.map((r: Json) => r.run_id), [run1, run2]);
    const [done] = all.body.runs;
    assertEquals(
      [done.status, done.last_message, done.project_name, done.agent, done.last_seq],
      ["COMPLETED", "all tests pass", "alpha", "claude-code", 2],
    );
    assert(done.ended_at !== null);

    const one = await get(
      stack,
      user.token,
      `/mobile-runs?workspace_id=${ws2.workspaceId}&limit=5`,
    );
    assertEquals(one.body.runs.map((r: Json) => r.run_id), [run2]);
    assertEquals((await get(stack, user.token, "/mobile-runs?limit=1")).body.runs.length, 1);

    assertEquals((await get(stack, other.token, "/mobile-runs")).body.runs, []);
    const hidden = await get(stack, other.token, `/mobile-runs?workspace_id=${ws1.workspaceId}`);
    assertEquals([hidden.status, hidden.body.error.code], [404, "not_found"]);
    for (const query of ["workspace_id=nope", "limit=0", "limit=101"]) {
      const res = await get(stack, user.token, `/mobile-runs?${query}`);
      assertEquals([res.status, res.body.error.code], [400, "invalid_request"], query);
    }
  });
});

Deno.test("mobile-run-events: the timeline after a seq verifies in the browser's hash check, a tampered event is found, another user's run is not_found", async () => {
  await withStack({}, async (stack) => {
    const ws = await randomWorkspace(stack.sql);
    const user = await userOf(stack, [ws]);
    const other = await userOf(stack, []);
    const runId = crypto.randomUUID();
    const payloads = [
      { message: "start", n: 1.0, big: 1e2, nested: { z: 1, a: [true, null, "é ✓ 🚀"] } },
      { tool: "Bash", "key with space": "x", "": 0, "ünï": -0.5 },
      { message: 'quote " and backslash \\ and \u2028' },
    ];
    for (const payload of payloads) {
      const res = await postEvent(stack, ws, eventBody(ws.workspaceId, { run_id: runId, payload }));
      assertEquals(res.status, 202, JSON.stringify(res.body));
    }
    const approval = await requestApproval(stack, ws, { run_id: runId, command: "make deploy" });
    assertEquals(approval.status, 201);

    const all = await get(stack, user.token, `/mobile-run-events?run_id=${runId}`);
    assertEquals(all.status, 200, JSON.stringify(all.body));
    v.parse(MobileRunEventsResponse, all.body);
    assertEquals(all.body.events.map((e: Json) => e.seq), [1, 2, 3, 4]);
    assertEquals(all.body.events[3].type, "APPROVAL_REQUESTED");
    assertEquals(await firstBrokenSeq(all.body.events), 0);
    assertEquals(
      [all.body.last_seq, all.body.last_hash, all.body.has_more],
      [4, all.body.events[3].hash, false],
    );
    assertEquals(JSON.parse(all.body.events[0].payload_text), payloads[0]);
    assertEquals("payload" in all.body.events[0], false, "the payload comes once, as its text");

    // Pages: after_seq and limit, continuing the chain from the verified prefix.
    const page1 = await get(stack, user.token, `/mobile-run-events?run_id=${runId}&limit=2`);
    assertEquals([page1.body.events.length, page1.body.has_more], [2, true]);
    const page2 = await get(stack, user.token, `/mobile-run-events?run_id=${runId}&after_seq=2`);
    assertEquals(page2.body.events.map((e: Json) => e.seq), [3, 4]);
    assertEquals(await firstBrokenSeq(page2.body.events, page1.body.events[1].hash), 0);

    // Tampering with a stored payload is found at that event.
    await stack.sql`update public.events set payload = payload || '{"message": "edited"}'
                    where run_id = ${runId} and seq = 3`;
    const tampered = await get(stack, user.token, `/mobile-run-events?run_id=${runId}`);
    assertEquals(await firstBrokenSeq(tampered.body.events), 3);

    const hidden = await get(stack, other.token, `/mobile-run-events?run_id=${runId}`);
    assertEquals([hidden.status, hidden.body.error.code], [404, "not_found"]);
    const missing = await get(
      stack,
      user.token,
      `/mobile-run-events?run_id=${crypto.randomUUID()}`,
    );
    assertEquals([missing.status, missing.body.error.code], [404, "not_found"]);
    for (
      const query of [
        "",
        "run_id=x",
        `run_id=${runId}&after_seq=-1`,
        `run_id=${runId}&limit=501`,
        `run_id=${runId}&wait=31`,
      ]
    ) {
      const res = await get(stack, user.token, `/mobile-run-events?${query}`);
      assertEquals([res.status, res.body.error.code], [400, "invalid_request"], query);
    }
  });
});

Deno.test("mobile-run-events: a page stops after about 1 MiB of payloads, and the next page goes on from there", async () => {
  await withStack({}, async (stack) => {
    const ws = await randomWorkspace(stack.sql);
    const user = await userOf(stack, [ws]);
    const runId = crypto.randomUUID();
    const big = "x".repeat(60_000); // ~60 KB a payload: 20 of them are over 1 MiB
    for (let i = 0; i < 20; i++) {
      const payload = { message: `${i}`, big };
      const res = await postEvent(stack, ws, eventBody(ws.workspaceId, { run_id: runId, payload }));
      assertEquals(res.status, 202, JSON.stringify(res.body));
    }
    const first = await get(stack, user.token, `/mobile-run-events?run_id=${runId}&limit=500`);
    assertEquals(first.status, 200, JSON.stringify(first.body).slice(0, 300));
    const n = first.body.events.length;
    assert(n >= 17 && n < 20, `a page of ${n} events`);
    assertEquals(first.body.has_more, true);
    const rest = await get(
      stack,
      user.token,
      `/mobile-run-events?run_id=${runId}&limit=500&after_seq=${n}`,
    );
    assertEquals(rest.body.events.map((e: Json) => e.seq)[0], n + 1);
    assertEquals(n + rest.body.events.length, 20);
    assertEquals(rest.body.has_more, false);
    const chain = [...first.body.events, ...rest.body.events];
    assertEquals(await firstBrokenSeq(chain), 0);
  });
});

Deno.test("mobile-run-events?wait parks until the run's next event (batched re-read) or approval (NOTIFY)", async () => {
  await withStack({ MOBILE_WAIT_POLL_MS: "200" }, async (stack) => {
    const ws = await randomWorkspace(stack.sql);
    const user = await userOf(stack, [ws]);
    const runId = crypto.randomUUID();
    assertEquals(
      (await postEvent(stack, ws, eventBody(ws.workspaceId, { run_id: runId }))).status,
      202,
    );
    const parked = get(stack, user.token, `/mobile-run-events?run_id=${runId}&after_seq=1&wait=30`);
    await eventually(() => stack.deps.reads.stats().parked === 1, "the timeline poll to park");
    const next = eventBody(ws.workspaceId, { run_id: runId, event_type: "RUN_STOPPED" });
    assertEquals((await postEvent(stack, ws, next)).status, 202);
    const woken = await parked;
    assertEquals(woken.body.events.map((e: Json) => [e.seq, e.type]), [[2, "RUN_STOPPED"]]);
    assertEquals(woken.body.run_status, "STOPPED");
  });
});

Deno.test("mobile-workspaces: the user's devices and paired workspaces with their own devices; nothing of another user", async () => {
  await withStack({}, async (stack) => {
    const ws1 = await randomWorkspace(stack.sql, { displayName: "alpha" });
    const ws2 = await randomWorkspace(stack.sql, { displayName: "beta" });
    const user = await userOf(stack, [ws1, ws2]);
    const second = await randomDevice(stack.sql, {
      userId: user.userId,
      workspaceId: ws2.workspaceId,
    });
    const other = await userOf(stack, [ws2]);
    await insertPendingApproval(stack.sql, ws2.workspaceId);

    const res = await get(stack, user.token, "/mobile-workspaces");
    assertEquals(res.status, 200, JSON.stringify(res.body));
    v.parse(MobileWorkspacesResponse, res.body);
    assertEquals(res.body.devices.map((d: Json) => d.device_id), [user.deviceId, second.deviceId]);
    assertEquals(res.body.workspaces.map((w: Json) => w.project_name), ["alpha", "beta"]);
    const beta = res.body.workspaces[1];
    assertEquals(
      beta.devices.map((d: Json) => d.device_id).sort(),
      [user.deviceId, second.deviceId].sort(),
      "the other user's device is not shown",
    );
    assertEquals([beta.pending_approvals, res.body.workspaces[0].last_run_at], [1, null]);
    assert(beta.last_run_at !== null);

    const theirs = await get(stack, other.token, "/mobile-workspaces");
    assertEquals(theirs.body.devices.map((d: Json) => d.device_id), [other.deviceId]);
    assertEquals(theirs.body.workspaces.map((w: Json) => w.workspace_id), [ws2.workspaceId]);
    assertEquals(theirs.body.workspaces[0].devices.map((d: Json) => d.device_id), [other.deviceId]);
  });
});
