// Realtime for the phone (issue 19, item 4), against a stand-in `realtime` schema with
// Supabase's own signatures and bodies (realtime.messages, realtime.topic(), realtime.send(),
// realtime.broadcast_changes()): every change the phone needs arrives on its private topic
// `workspace:<id>` through the real endpoints, and the realtime.messages policy lets only
// that workspace's users join (checked the way Realtime checks a join: as `authenticated`
// with the user's claims and realtime.topic set), lets nobody send, and refuses anon.
import type postgres from "postgres";
import { assert, assertEquals } from "../_helpers/assert.ts";
import { type Stack, startStack } from "../_helpers/stack.ts";
import { eventBody, postEvent } from "../_helpers/events.ts";
import { decideApproval, requestApproval } from "../_helpers/approvals.ts";
import { credentialsOf, pairPhone, phoneOf } from "../_helpers/pairing.ts";
import { invoke } from "../_helpers/phone.ts";
import { bridgeFetch } from "../_helpers/stack.ts";

/** Supabase's realtime objects, as the Realtime server's tenant migrations create them
 * (supabase/realtime: messages, topic(), send(), broadcast_changes()), minus partitions. */
const REALTIME_STAND_IN = `
  create schema realtime;
  grant usage on schema realtime to anon, authenticated, service_role;
  create table realtime.messages (
    topic text not null,
    extension text not null,
    payload jsonb,
    event text,
    private boolean default false,
    updated_at timestamp not null default now(),
    inserted_at timestamp not null default now(),
    id uuid not null default gen_random_uuid(),
    primary key (id, inserted_at)
  );
  alter table realtime.messages enable row level security;
  grant select, insert, update, delete on realtime.messages to anon, authenticated, service_role;
  create function realtime.topic() returns text language sql stable as $$
    select nullif(current_setting('realtime.topic', true), '')::text;
  $$;
  -- as on Supabase, where realtime's functions stay callable by the API roles (the
  -- migrations close new functions by default, which would otherwise catch this stand-in)
  grant execute on function realtime.topic() to anon, authenticated, service_role;
  create function realtime.send(payload jsonb, event text, topic text, private boolean default true)
  returns void language plpgsql as $$
  begin
    begin
      perform set_config('realtime.topic', topic, true);
      insert into realtime.messages (payload, event, topic, private, extension)
      values (payload, event, topic, private, 'broadcast');
    exception when others then
      raise warning 'ErrorSendingBroadcastMessage: %', sqlerrm;
    end;
  end $$;
  create function realtime.broadcast_changes(
    topic_name text, event_name text, operation text, table_name text, table_schema text,
    new record, old record, level text default 'ROW'
  ) returns void language plpgsql as $$
  declare
    row_data jsonb := '{}'::jsonb;
  begin
    if level = 'STATEMENT' then
      raise exception 'function can only be triggered for each row, not for each statement';
    end if;
    if operation = 'INSERT' or operation = 'UPDATE' or operation = 'DELETE' then
      row_data := jsonb_build_object('old_record', old, 'record', new, 'operation', operation,
                                     'table', table_name, 'schema', table_schema);
      perform realtime.send(row_data, event_name, topic_name);
    else
      raise exception 'Unexpected operation type: %', operation;
    end if;
  exception when others then
    raise exception 'Failed to process the row: %', sqlerrm;
  end $$;`;

async function withRealtime(): Promise<Stack> {
  const stack = await startStack();
  await stack.sql.unsafe(REALTIME_STAND_IN);
  const [{ installed }] = await stack
    .sql`select private.install_realtime_broadcasts() as installed`;
  assertEquals(
    [...installed].sort(),
    ["approvals", "events", "rules", "run_instructions", "runs", "workspace_devices"],
  );
  return stack;
}

interface Message {
  topic: string;
  event: string;
  private: boolean;
  payload: {
    table: string;
    schema: string;
    operation: string;
    record: Record<string, unknown> | null;
    old_record: Record<string, unknown> | null;
  };
}

async function messages(sql: postgres.Sql, topic: string): Promise<Message[]> {
  return await sql`select topic, event, private, payload from realtime.messages
                   where topic = ${topic} order by inserted_at, payload->>'table'` as never;
}

/** Whether `userId` (null: anon) may join `topic`, checked as Realtime checks a join: in a
 * transaction as the user's role with its claims and realtime.topic set, a message of that
 * topic must be readable; and whether they may send on it (an insert). */
async function access(sql: postgres.Sql, userId: string | null, topic: string) {
  const role = userId ? "authenticated" : "anon";
  const claims = JSON.stringify(userId ? { sub: userId, role } : { role });
  await sql`insert into realtime.messages (topic, extension, event, payload, private)
            values (${topic}, 'broadcast', 'probe', '{}', true)`;
  const read = await sql.begin(async (tx) => {
    await tx`select set_config('request.jwt.claims', ${claims}, true),
                    set_config('realtime.topic', ${topic}, true)`;
    await tx.unsafe(`set local role ${role}`);
    const [{ n }] = await tx`select count(*)::int as n from realtime.messages
                             where topic = ${topic} and extension = 'broadcast'`;
    return n > 0;
  });
  let write = true;
  try {
    await sql.begin(async (tx) => {
      await tx`select set_config('request.jwt.claims', ${claims}, true),
                      set_config('realtime.topic', ${topic}, true)`;
      await tx.unsafe(`set local role ${role}`);
      await tx`insert into realtime.messages (topic, extension, event, payload, private)
               values (${topic}, 'broadcast', 'forged', '{}', true)`;
    });
  } catch (error) {
    write = false;
    assertEquals((error as { code?: string }).code, "42501");
  }
  return { read, write };
}

Deno.test("every change the phone needs is broadcast on its private workspace topic", async () => {
  const stack = await withRealtime();
  try {
    const phone = await phoneOf(stack);
    const paired = await pairPhone(stack, phone);
    const ws = { ...credentialsOf(paired.started), displayName: "Realtime" };
    const topic = `workspace:${paired.workspaceId}`;

    // a run and its event
    const event = await postEvent(stack, ws, eventBody(ws.workspaceId));
    assertEquals(event.status, 202);
    const runId = event.body.run_id as string;
    // an approval requested and decided
    const requested = await requestApproval(stack, ws, { run_id: runId });
    assertEquals(requested.status, 201, JSON.stringify(requested.body));
    const approvalId = requested.body.approval_id as string;
    const decided = await decideApproval(stack, phone.token, approvalId, {
      decision: "DENY",
      note: "use make clean",
    });
    assertEquals(decided.status, 200);
    // an instruction queued and collected
    const queued = await invoke(phone.client, `mobile-run-instruction/${runId}`, {
      text: "stop after the tests",
    });
    assertEquals(queued.status, 201, JSON.stringify(queued.body));
    const collected = await bridgeFetch(stack, ws, "GET", `/bridge-run-instructions/${runId}`);
    assertEquals(collected.status, 200);
    await collected.body?.cancel();
    // a rule made on the phone
    const rule = await invoke(phone.client, "mobile-rules", {
      workspace_id: paired.workspaceId,
      effect: "allow",
      match: "prefix",
      value: "npm run test",
    });
    assertEquals(rule.status, 201, JSON.stringify(rule.body));
    // unpairing
    const unpaired = await invoke(phone.client, "mobile-unpair", {
      workspace_id: paired.workspaceId,
      device_id: paired.deviceId,
    });
    assertEquals(unpaired.status, 200, JSON.stringify(unpaired.body));

    const sent = await messages(stack.sql, topic);
    const seen = new Set(sent.map((m) => `${m.payload.table} ${m.event}`));
    for (
      const want of [
        "workspace_devices INSERT",
        "runs INSERT",
        "events INSERT",
        "approvals INSERT",
        "approvals UPDATE",
        "run_instructions INSERT",
        "run_instructions UPDATE",
        "rules INSERT",
        "workspace_devices DELETE",
      ]
    ) assert(seen.has(want), `${want} was not broadcast: ${[...seen].join(", ")}`);

    for (const m of sent) {
      assertEquals(m.private, true, "broadcast_changes sends private messages");
      assertEquals(m.payload.schema, "public");
      assertEquals(m.event, m.payload.operation);
    }
    const decision = sent.find((m) =>
      m.payload.table === "approvals" && m.event === "UPDATE" &&
      (m.payload.record as { status?: string }).status === "DENIED"
    );
    assert(decision, "the decision is broadcast with the new row");
    assertEquals(decision.payload.record?.id, approvalId);
    assertEquals(decision.payload.record?.note, "use make clean");
    assertEquals((decision.payload.old_record as { status?: string }).status, "PENDING");
    const gone = sent.find((m) => m.payload.table === "workspace_devices" && m.event === "DELETE");
    assertEquals(gone?.payload.record, null, "a delete carries only old_record");
    assertEquals(gone?.payload.old_record?.device_id, paired.deviceId);

    // nothing of this workspace went to any other topic
    const [{ n }] = await stack.sql`select count(*)::int as n from realtime.messages
                                    where topic <> ${topic}`;
    assertEquals(n, 0);
  } finally {
    await stack.close();
  }
});

Deno.test("only a paired user may join workspace:<id>; nobody may send on it; anon never", async () => {
  const stack = await withRealtime();
  try {
    const member = await phoneOf(stack);
    const paired = await pairPhone(stack, member);
    const stranger = await phoneOf(stack);
    const strangers = await pairPhone(stack, stranger); // paired, but to another workspace
    const topic = `workspace:${paired.workspaceId}`;

    assertEquals(await access(stack.sql, member.userId, topic), { read: true, write: false });
    assertEquals(await access(stack.sql, stranger.userId, topic), { read: false, write: false });
    assertEquals(await access(stack.sql, null, topic), { read: false, write: false });
    assertEquals(
      await access(stack.sql, stranger.userId, `workspace:${strangers.workspaceId}`),
      { read: true, write: false },
    );
    // a topic that merely starts like one of the member's is not theirs
    assertEquals(await access(stack.sql, member.userId, `${topic}x`), {
      read: false,
      write: false,
    });
    // presence (another extension) on the member's own topic is not offered
    await stack.sql`insert into realtime.messages (topic, extension, event, payload)
                    values (${topic}, 'presence', 'join', '{}')`;
    const presence = await stack.sql.begin(async (tx) => {
      const claims = JSON.stringify({ sub: member.userId, role: "authenticated" });
      await tx`select set_config('request.jwt.claims', ${claims}, true),
                      set_config('realtime.topic', ${topic}, true)`;
      await tx.unsafe("set local role authenticated");
      return await tx`select 1 from realtime.messages where extension = 'presence'`;
    });
    assertEquals(presence.length, 0);

    // after unpairing, the former member can no longer join
    const unpaired = await invoke(member.client, "mobile-unpair", {
      workspace_id: paired.workspaceId,
      device_id: paired.deviceId,
    });
    assertEquals(unpaired.status, 200);
    assertEquals((await access(stack.sql, member.userId, topic)).read, false);
  } finally {
    await stack.close();
  }
});

Deno.test("the project's tables are not in the supabase_realtime publication (deletes skip RLS)", async () => {
  const stack = await startStack();
  try {
    const rows = await stack.sql`select tablename from pg_publication_tables
                                 where pubname = 'supabase_realtime' and schemaname = 'public'`;
    assertEquals(rows.map((r) => r.tablename), []);
  } finally {
    await stack.close();
  }
});

Deno.test("install_realtime_broadcasts() installs nothing where Realtime is absent, and is idempotent", async () => {
  const stack = await startStack();
  try {
    const [{ installed }] = await stack
      .sql`select private.install_realtime_broadcasts() as installed`;
    assertEquals(installed, []);
    await stack.sql.unsafe(REALTIME_STAND_IN);
    await stack.sql`select private.install_realtime_broadcasts()`;
    await stack.sql`select private.install_realtime_broadcasts()`;
    const triggers = await stack.sql`select tgrelid::regclass::text as t from pg_trigger
                                     where tgname like '%\_broadcast' order by 1`;
    assertEquals(triggers.map((r) => r.t), [
      "approvals",
      "events",
      "rules",
      "run_instructions",
      "runs",
      "workspace_devices",
    ]);
    const policies = await stack.sql`select policyname from pg_policies
                                     where schemaname = 'realtime' and tablename = 'messages'`;
    assertEquals(policies.map((r) => r.policyname), ["workspace_topic_members"]);
  } finally {
    await stack.close();
  }
});
