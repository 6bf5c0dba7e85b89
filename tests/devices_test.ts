// The phone's devices (docs/contract/api.md#mobile-device and docs/contract/api.md#mobile-unpair):
// push token rotation and unpairing, through supabase-js; unpairing checked where it matters: the
// outbox, new pushes, and what RLS lets the user read (real role switching, as PostgREST does).
import * as v from "valibot";
import { assert, assertEquals } from "./_helpers/assert.ts";
import { type Json, type Stack, startStack } from "./_helpers/stack.ts";
import { randomDevice } from "./_helpers/fixtures.ts";
import { invoke } from "./_helpers/phone.ts";
import {
  count,
  credentialsOf,
  pairPhone,
  pairStatus,
  type Phone,
  phoneOf,
} from "./_helpers/pairing.ts";
import { requestApproval } from "./_helpers/approvals.ts";
import { eventBody, postEvent } from "./_helpers/events.ts";
import { DeviceResponse, MobileUnpairResponse } from "../shared/api_schemas.ts";
import type postgres from "postgres";

/** The workspace ids a role sees in each table (claims set as PostgREST sets them). */
async function visibleTo(
  sql: postgres.Sql,
  role: "authenticated",
  userId: string,
): Promise<Record<string, string[]>> {
  return await sql.begin(async (tx) => {
    await tx.unsafe(`set local role ${role}`);
    const claims = { sub: userId, role };
    await tx`select set_config('request.jwt.claims', ${JSON.stringify(claims)}, true)`;
    const seen: Record<string, string[]> = {};
    for (const table of ["runs", "events", "approvals", "workspace_devices"]) {
      const rows = await tx.unsafe(`select distinct workspace_id from public.${table}`);
      seen[table] = rows.map((r) => r.workspace_id).sort();
    }
    seen.workspaces = (await tx`select id from public.workspaces`).map((r) => r.id).sort();
    return seen;
  }) as Record<string, string[]>;
}

/** Rows anon reads from each table: none, or refused outright (no grant). */
async function anonReads(sql: postgres.Sql): Promise<Record<string, number | string>> {
  const out: Record<string, number | string> = {};
  for (
    const table of ["runs", "events", "approvals", "workspace_devices", "workspaces", "devices"]
  ) {
    try {
      out[table] = await sql.begin(async (tx) => {
        await tx.unsafe("set local role anon");
        await tx`select set_config('request.jwt.claims', '{"role":"anon"}', true)`;
        return (await tx.unsafe(`select * from public.${table}`)).length;
      }) as number;
    } catch (error) {
      out[table] = (error as { code?: string }).code ?? "error";
    }
  }
  return out;
}

function only(...ids: string[]): Record<string, string[]> {
  const sorted = [...ids].sort();
  return {
    runs: sorted,
    events: sorted,
    approvals: sorted,
    workspace_devices: sorted,
    workspaces: sorted,
  };
}

async function deviceRow(stack: Stack, deviceId: string): Promise<Json> {
  const [row] = await stack.sql`select * from public.devices where id = ${deviceId}`;
  return row;
}

/** A run event and an approval request in the workspace (so it has rows and pushes). */
async function activity(stack: Stack, creds: { workspaceId: string; secret: string }) {
  const event = await postEvent(stack, creds, eventBody(creds.workspaceId));
  assertEquals(event.status, 202, JSON.stringify(event.body));
  const approval = await requestApproval(stack, { ...creds, displayName: "agentops-backend" });
  assertEquals(approval.status, 201, JSON.stringify(approval.body));
  return approval.body.approval_id as string;
}

Deno.test("mobile-device rotates the push token, stamps push_token_updated_at and never echoes it", async () => {
  const stack = await startStack();
  try {
    const phone = await phoneOf(stack);
    const { deviceId } = await pairPhone(stack, phone);
    await stack.sql`update public.devices set push_token_updated_at = now() - interval '1 day'
                    where id = ${deviceId}`;
    const before = await deviceRow(stack, deviceId);

    const res = await invoke(phone.client, "mobile-device", {
      device_id: deviceId,
      push_token: "rotated-apns-token",
    });
    assertEquals(res.status, 200, JSON.stringify(res.body));
    const device = v.parse(DeviceResponse, res.body);
    assertEquals(Object.keys(res.body).sort(), Object.keys(DeviceResponse.entries).sort());
    assert(!JSON.stringify(res.body).includes("rotated-apns-token"), "the token is not echoed");
    assertEquals(device.device_id, deviceId);
    assertEquals(device.has_push_token, true);
    assertEquals(device.platform, "ios");
    const rotated = await deviceRow(stack, deviceId);
    assertEquals(rotated.push_token, "rotated-apns-token");
    assert(rotated.push_token_updated_at > before.push_token_updated_at, "stamped");

    // the same token again is no rotation; other fields change alone
    const same = await invoke(phone.client, "mobile-device", {
      device_id: deviceId,
      push_token: "rotated-apns-token",
      push_provider: "fcm",
      device_name: "Ada's old iPhone",
    });
    assertEquals(same.status, 200);
    assertEquals(same.body.push_provider, "fcm");
    assertEquals(same.body.device_name, "Ada's old iPhone");
    const after = await deviceRow(stack, deviceId);
    assertEquals(after.push_token_updated_at, rotated.push_token_updated_at);
    assertEquals(after.push_token, "rotated-apns-token");
  } finally {
    await stack.close();
  }
});

Deno.test("mobile-device answers another user's device like an unknown one, and changes nothing", async () => {
  const stack = await startStack();
  try {
    const phone = await phoneOf(stack);
    const stranger = await randomDevice(stack.sql, { pushToken: "stranger-token" });
    const theirs = await invoke(phone.client, "mobile-device", {
      device_id: stranger.deviceId,
      push_token: "hijacked",
    });
    const unknown = await invoke(phone.client, "mobile-device", {
      device_id: crypto.randomUUID(),
      push_token: "hijacked",
    });
    assertEquals(theirs.status, 404);
    assertEquals(theirs.body.error.code, "not_found");
    assertEquals(theirs.body, unknown.body);
    assertEquals((await deviceRow(stack, stranger.deviceId)).push_token, "stranger-token");
  } finally {
    await stack.close();
  }
});

Deno.test("mobile-device and mobile-unpair refuse bad bodies with 400 and missing auth with 401", async () => {
  const stack = await startStack();
  try {
    const phone = await phoneOf(stack);
    const { deviceId, workspaceId } = await pairPhone(stack, phone);
    const bad: [string, Json][] = [
      ["mobile-device", {}],
      ["mobile-device", { device_id: "nope" }],
      ["mobile-device", { device_id: deviceId, push_token: "" }],
      ["mobile-device", { device_id: deviceId, push_provider: "sms" }],
      ["mobile-device", { device_id: deviceId, platform: "android" }],
      ["mobile-unpair", { workspace_id: workspaceId }],
      ["mobile-unpair", { workspace_id: workspaceId, device_id: deviceId, extra: 1 }],
    ];
    for (const [name, body] of bad) {
      const res = await invoke(phone.client, name, body);
      assertEquals(res.status, 400, `${name} ${JSON.stringify(body)}`);
      assertEquals(res.body.error.code, "invalid_request");
    }
    for (const name of ["mobile-device", "mobile-unpair"]) {
      const res = await fetch(`${stack.functionsUrl}/${name}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ workspace_id: workspaceId, device_id: deviceId }),
      });
      assertEquals(res.status, 401, name);
      assertEquals((await res.json()).error.code, "unauthorized");
    }
    assertEquals(await count(stack, "public.workspace_devices"), 1);
  } finally {
    await stack.close();
  }
});

Deno.test("after mobile-unpair the device gets none of that workspace's pushes and the user none of its rows", async () => {
  const stack = await startStack();
  try {
    const ada = await phoneOf(stack);
    const bob = await phoneOf(stack);
    // Ada's phone serves two workspaces; Bob's phone shares the first
    const first = await pairPhone(stack, ada);
    const second = await pairPhone(stack, ada, {
      complete: { device_id: first.deviceId },
    });
    const bobs = await pairPhone(stack, bob, {
      start: {
        machine_id: (await stack.sql`select machine_id from private.workspace_keys
                                     where workspace_id = ${first.workspaceId}`)[0].machine_id,
        workspace_fingerprint:
          (await stack.sql`select project_fingerprint from private.workspace_keys
                                     where workspace_id = ${first.workspaceId}`)[0]
            .project_fingerprint,
        display_name: "agentops-backend",
      },
      signedWith: credentialsOf(first.started),
    });
    assertEquals(bobs.workspaceId, first.workspaceId);
    const w1 = credentialsOf(bobs.started); // the re-pair rotated the secret
    const w2 = credentialsOf(second.started);
    await activity(stack, w1);
    await activity(stack, w2);
    assertEquals(await visibleTo(stack.sql, "authenticated", ada.userId), {
      ...only(first.workspaceId, second.workspaceId),
    });
    // a push waiting for its retry for each phone (the dispatcher must not race the test)
    const retrying = async (deviceId: string) => {
      const [row] = await stack.sql`
        insert into private.push_outbox (device_id, workspace_id, kind, message, next_attempt_at)
        values (${deviceId}, ${first.workspaceId}, 'run', '{"title": "t"}',
                now() + interval '1 hour')
        returning id`;
      return row.id;
    };
    const adaRetry = await retrying(first.deviceId);
    const bobRetry = await retrying(bobs.deviceId);
    const statusOf = async (id: string) =>
      (await stack.sql`select status from private.push_outbox where id = ${id}`)[0].status;
    const rowsFor = async (deviceId: string, workspaceId: string) =>
      (await stack.sql`select count(*)::int as n from private.push_outbox
                       where device_id = ${deviceId} and workspace_id = ${workspaceId}`)[0].n;
    const adaRows = await rowsFor(first.deviceId, first.workspaceId);
    const bobRows = await rowsFor(bobs.deviceId, first.workspaceId);
    const adaOtherRows = await rowsFor(first.deviceId, second.workspaceId);
    assert(adaRows >= 2 && bobRows >= 2, "both phones got the first workspace's approval");

    const res = await invoke(ada.client, "mobile-unpair", {
      workspace_id: first.workspaceId,
      device_id: first.deviceId,
    });
    assertEquals(res.status, 200, JSON.stringify(res.body));
    assertEquals(v.parse(MobileUnpairResponse, res.body), {
      workspace_id: first.workspaceId,
      device_id: first.deviceId,
      unpaired: true,
    });

    // the undelivered push is dropped; a new approval reaches only Bob's phone
    assertEquals(await statusOf(adaRetry), "dropped");
    assertEquals(await statusOf(bobRetry), "pending");
    await activity(stack, w1);
    assertEquals(await rowsFor(first.deviceId, first.workspaceId), adaRows);
    assertEquals(await rowsFor(bobs.deviceId, first.workspaceId), bobRows + 1);
    // the other workspace still reaches Ada's phone
    await activity(stack, w2);
    assertEquals(await rowsFor(first.deviceId, second.workspaceId), adaOtherRows + 1);

    // RLS: Ada sees only the second workspace now, Bob still the first, anon nothing
    assertEquals(await visibleTo(stack.sql, "authenticated", ada.userId), only(second.workspaceId));
    assertEquals(await visibleTo(stack.sql, "authenticated", bob.userId), only(first.workspaceId));
    for (const [table, seen] of Object.entries(await anonReads(stack.sql))) {
      assert(seen === 0 || seen === "42501", `anon reads ${table}: ${seen}`);
    }

    // the extension sees one device left, and the timeline says what happened
    const status = await pairStatus(stack, w1);
    assertEquals(status.body.devices.map((d: Json) => d.device_id), [bobs.deviceId]);
    const [event] = await stack.sql`select type, payload from public.events
                                    where workspace_id = ${first.workspaceId} and run_id is null
                                    order by seq desc limit 1`;
    assertEquals(event.type, "DEVICE_UNPAIRED");
    assertEquals(event.payload.device_id, first.deviceId);
  } finally {
    await stack.close();
  }
});

Deno.test("a user whose other device stays paired keeps seeing the workspace after unpairing one", async () => {
  const stack = await startStack();
  try {
    const ada = await phoneOf(stack);
    const phone = await pairPhone(stack, ada);
    const ws = await stack.sql`select machine_id, project_fingerprint from private.workspace_keys`;
    const tablet = await pairPhone(stack, ada, {
      start: {
        machine_id: ws[0].machine_id,
        workspace_fingerprint: ws[0].project_fingerprint,
        display_name: "agentops-backend",
      },
      signedWith: credentialsOf(phone.started),
      complete: { platform: "android", push_provider: "fcm" },
    });
    assert(tablet.deviceId !== phone.deviceId);
    await activity(stack, credentialsOf(tablet.started));
    const res = await invoke(ada.client, "mobile-unpair", {
      workspace_id: phone.workspaceId,
      device_id: phone.deviceId,
    });
    assertEquals(res.status, 200);
    assertEquals(await visibleTo(stack.sql, "authenticated", ada.userId), only(phone.workspaceId));
  } finally {
    await stack.close();
  }
});

Deno.test("mobile-unpair answers another user's device, an unpaired one and a repeat alike with not_found", async () => {
  const stack = await startStack();
  try {
    const ada = await phoneOf(stack);
    const mallory: Phone = await phoneOf(stack);
    const paired = await pairPhone(stack, ada);
    const own = await randomDevice(stack.sql, { userId: ada.userId }); // paired nowhere
    const attempts: [Phone, Json][] = [
      [mallory, { workspace_id: paired.workspaceId, device_id: paired.deviceId }],
      [ada, { workspace_id: paired.workspaceId, device_id: own.deviceId }],
      [ada, { workspace_id: crypto.randomUUID(), device_id: paired.deviceId }],
    ];
    const answers = [];
    for (const [who, body] of attempts) {
      const res = await invoke(who.client, "mobile-unpair", body);
      assertEquals(res.status, 404, JSON.stringify(body));
      answers.push(res.body);
    }
    for (const a of answers) assertEquals(a, answers[0]);
    assertEquals(await count(stack, "public.workspace_devices"), 1, "nothing unpaired");

    const body = { workspace_id: paired.workspaceId, device_id: paired.deviceId };
    assertEquals((await invoke(ada.client, "mobile-unpair", body)).status, 200);
    const again = await invoke(ada.client, "mobile-unpair", body);
    assertEquals(again.status, 404);
    assertEquals(again.body, answers[0]);
  } finally {
    await stack.close();
  }
});
