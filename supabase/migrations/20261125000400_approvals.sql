-- Approvals (docs/contract/api.md#approvals, docs/contract/waiting.md): request, wait, decide,
-- expire, and the delivery receipt. Every state change is one function call in one transaction; a
-- decision or an expiry sends NOTIFY approval_decided (payload: the approval id, nothing
-- else) in that transaction, which wakes the long-polls parked in any isolate; they
-- re-read the rows (supabase/functions/_shared/approval_waiter.ts). Depends on workspaces
-- and the timeline (APPROVAL_* events on the run). The pushes an approval causes are the
-- push migration's (private.enqueue_approval_push, private.enqueue_approval_clear_push,
-- the outbox rows that private.approval_settled drops): plpgsql resolves those names when
-- it runs. The push outbox, the notifications and rules refer to approvals.

create table public.approvals (
  id uuid primary key default gen_random_uuid(),
  run_id uuid not null references public.runs (id) on delete cascade,
  workspace_id uuid not null references public.workspaces (id) on delete cascade,
  status text not null default 'PENDING'
    check (status in ('PENDING', 'APPROVED', 'DENIED', 'EXPIRED')),
  kind text not null default 'command',
  command text not null,
  cwd_hash text,
  context jsonb,
  provider text,
  request_key text,
  note text,
  requested_at timestamptz not null default now(),
  expires_at timestamptz not null,
  decided_at timestamptz,
  decided_by_device_id uuid references public.devices (id) on delete set null,
  decided_by_user_id uuid,
  -- receipts (the notifications migration): approval pushes a provider accepted, the
  -- devices they reached, when the waiting hook runner got the decision
  push_sent integer not null default 0,
  devices_notified integer not null default 0,
  delivered_at timestamptz,
  -- a command the gate marks dangerous: its push asks to unlock the device
  requires_unlock boolean not null default false,
  -- the reminder's schedule (private.claim_due_reminders)
  remind_at timestamptz,
  reminded_at timestamptz,
  unique (workspace_id, request_key)
);
create index approvals_pending_idx on public.approvals (workspace_id, requested_at desc)
  where status = 'PENDING';
create index approvals_run_idx on public.approvals (run_id, requested_at);
-- the sweep's "which reminders are due" is one range scan over a small partial index
create index approvals_remind_due_idx on public.approvals (remind_at)
  where status = 'PENDING' and reminded_at is null and remind_at is not null;

alter table public.approvals enable row level security;
revoke all on public.approvals from anon, authenticated;
grant select on public.approvals to authenticated;
create policy approvals_paired_select on public.approvals for select to authenticated
  using (workspace_id in (select private.user_workspace_ids()));

-- The answer of bridge-approval-wait (and the waiter): what the hook runner needs, with
-- devices_notified (how many devices a provider accepted an approval push for).
-- plpgsql, as the two below: on the decision → answer path (README, "Small SQL helpers
-- called on a hot path are plpgsql": 73-81 us a call as sql, parsed and planned anew).
create function private.approval_state(p_approval public.approvals) returns jsonb
language plpgsql immutable set search_path = '' as $$
begin
  return jsonb_build_object(
    'approval_id', p_approval.id,
    'status', p_approval.status,
    'note', p_approval.note,
    'decided_at', private.ts_text(p_approval.decided_at),
    'expires_at', private.ts_text(p_approval.expires_at),
    'devices_notified', coalesce(p_approval.devices_notified, 0));
end
$$;

-- The answer of mobile-approval-decision (also the stored result of already_decided).
create function private.approval_decision(p_approval public.approvals) returns jsonb
language plpgsql immutable set search_path = '' as $$
begin
  return jsonb_build_object(
    'approval_id', p_approval.id,
    'status', p_approval.status,
    'note', p_approval.note,
    'decided_at', private.ts_text(p_approval.decided_at),
    'decided_by_device_id', p_approval.decided_by_device_id);
end
$$;

-- An approval's timeline event on its run; the run counts as active then (its
-- last_event_at orders the phone's recent runs and drives retention). Its status is left
-- alone: approval events are not run events.
create function private.append_approval_event(
  p_approval public.approvals, p_type text, p_payload jsonb
) returns void
language plpgsql set search_path = '' as $$
begin
  perform private.append_event(p_approval.workspace_id, p_approval.run_id, p_type, p_payload,
                               null, p_approval.provider);
  update public.runs set last_event_at = greatest(last_event_at, now())
  where id = p_approval.run_id;
end
$$;

-- What follows an approval leaving PENDING: its unsent approval pushes are dropped and the
-- parked long-polls are told. (The timeline event and the clear push differ by cause.)
-- The NOTIFY payload is the approval id and nothing else: any database login can LISTEN
-- (so a payload must not carry a decision or a note) and any login can NOTIFY (so a
-- waiter must not believe one): the waiter re-reads the woken approvals in one query.
create function private.approval_settled(p_approval public.approvals) returns void
language plpgsql set search_path = '' as $$
begin
  update private.push_outbox
  set status = 'dropped', updated_at = now(),
      last_outcome = 'dropped: approval ' || lower(p_approval.status)
  where approval_id = p_approval.id and kind = 'approval' and status = 'pending';
  perform pg_notify('approval_decided', p_approval.id::text);
end
$$;

-- Expires the given approvals that are still PENDING past expires_at: status EXPIRED, an
-- APPROVAL_EXPIRED event on the run, a silent clear push to every device, NOTIFY. A
-- compare-and-set, so concurrent callers expire each approval once; rows another
-- transaction holds (a decision, another isolate's expiry) are skipped, not waited for,
-- and locked in id order, so batched callers never deadlock. Returns how many.
create function private.expire_due_approvals(p_ids uuid[]) returns integer
language plpgsql set search_path = '' as $$
declare
  v_approval public.approvals;
  v_count integer := 0;
begin
  for v_approval in
    with due as (
      select a.id from public.approvals a
      where a.id = any(p_ids) and a.status = 'PENDING' and a.expires_at <= now()
      order by a.id
      for update skip locked
    ), expired as (
      update public.approvals a set status = 'EXPIRED'
      from due where a.id = due.id
      returning a.*
    )
    select * from expired
  loop
    perform private.append_approval_event(v_approval, 'APPROVAL_EXPIRED',
      jsonb_build_object('approval_id', v_approval.id,
                         'expires_at', private.ts_text(v_approval.expires_at)));
    perform private.approval_settled(v_approval);
    perform private.enqueue_approval_clear_push(v_approval, null);
    v_count := v_count + 1;
  end loop;
  return v_count;
end
$$;

-- bridge-approval-request. p_body: {run_id, command, cwd_hash, context?, kind,
-- expires_in_seconds, provider?, request_key?, requires_unlock?, remind_after_seconds?}
-- (the path itself never reaches the database). requires_unlock is the command policy's
-- verdict; remind_after_seconds is APPROVAL_REMIND_AFTER_SECONDS (default half the
-- lifetime, at least 30 s), and a reminder that would come at or after the expiry is not
-- scheduled. Out: {approval_id, status, expires_at, created}; created false when the
-- request_key already made an approval in this workspace (the endpoint answers 200).
create function private.request_approval(
  p_workspace_id uuid, p_secret_version integer, p_nonce text, p_body jsonb,
  p_rate_limit integer
) returns jsonb
language plpgsql set search_path = '' as $$
declare
  v_key text := p_body ->> 'request_key';
  v_approval public.approvals;
  v_run public.runs;
  v_lifetime integer := coalesce((p_body ->> 'expires_in_seconds')::integer, 600);
  v_remind integer := coalesce((p_body ->> 'remind_after_seconds')::integer,
                               greatest(30, v_lifetime / 2));
begin
  perform private.consume_nonce(p_workspace_id, p_secret_version, p_nonce);

  if v_key is not null then
    select * into v_approval from public.approvals
    where workspace_id = p_workspace_id and request_key = v_key;
    if found then
      perform private.expire_due_approvals(array[v_approval.id]);
      select * into v_approval from public.approvals where id = v_approval.id;
      return jsonb_build_object('approval_id', v_approval.id, 'status', v_approval.status,
        'expires_at', private.ts_text(v_approval.expires_at), 'created', false);
    end if;
  end if;

  if not exists (select 1 from public.workspace_devices where workspace_id = p_workspace_id) then
    perform private.fail('no_device',
      'No device is paired with this workspace: ask locally instead of waiting');
  end if;

  perform private.hit_rate_limit('approvals:' || p_workspace_id::text, p_rate_limit, 60);

  v_run := private.ensure_run(p_workspace_id, (p_body ->> 'run_id')::uuid,
                              p_body ->> 'provider');

  insert into public.approvals (run_id, workspace_id, kind, command, cwd_hash, context,
                                provider, request_key, expires_at, requires_unlock, remind_at)
  values (v_run.id, p_workspace_id, coalesce(p_body ->> 'kind', 'command'),
          p_body ->> 'command', p_body ->> 'cwd_hash', p_body -> 'context',
          coalesce(p_body ->> 'provider', v_run.provider), v_key,
          now() + make_interval(secs => v_lifetime),
          coalesce((p_body ->> 'requires_unlock')::boolean, false),
          case when v_remind < v_lifetime then now() + make_interval(secs => v_remind) end)
  on conflict (workspace_id, request_key) do nothing
  returning * into v_approval;

  if v_approval.id is null then
    select * into v_approval from public.approvals
    where workspace_id = p_workspace_id and request_key = v_key;
    return jsonb_build_object('approval_id', v_approval.id, 'status', v_approval.status,
      'expires_at', private.ts_text(v_approval.expires_at), 'created', false);
  end if;

  perform private.append_approval_event(v_approval, 'APPROVAL_REQUESTED',
    jsonb_strip_nulls(jsonb_build_object(
      'approval_id', v_approval.id,
      'command', v_approval.command,
      'kind', v_approval.kind,
      'request_key', v_approval.request_key,
      'requires_unlock', nullif(v_approval.requires_unlock, false),
      'expires_at', private.ts_text(v_approval.expires_at))));
  perform private.enqueue_approval_push(v_approval);

  return jsonb_build_object('approval_id', v_approval.id, 'status', v_approval.status,
    'expires_at', private.ts_text(v_approval.expires_at), 'created', true);
end
$$;

-- bridge-approval-wait, first read: consumes the nonce and reads the workspace's approval
-- (expiring it when it is due). Another workspace's approval is not_found.
create function private.read_approval_for_wait(
  p_workspace_id uuid, p_secret_version integer, p_nonce text, p_approval_id uuid
) returns jsonb
language plpgsql set search_path = '' as $$
declare
  v_approval public.approvals;
begin
  perform private.consume_nonce(p_workspace_id, p_secret_version, p_nonce);
  select * into v_approval from public.approvals
  where id = p_approval_id and workspace_id = p_workspace_id;
  if not found then
    perform private.fail('not_found', 'Not found: no such approval in this workspace');
  end if;
  if v_approval.status = 'PENDING' and v_approval.expires_at <= now() then
    perform private.expire_due_approvals(array[v_approval.id]);
    select * into v_approval from public.approvals where id = p_approval_id;
  end if;
  return private.approval_state(v_approval);
end
$$;

-- The waiter's one query for every approval parked in an isolate (batched poll, a NOTIFY,
-- a reconnect, an expiry): expires the due ones and returns {settled: [state…], expired: n},
-- the state of each one no longer PENDING. The waiter calls it only with the ids of requests
-- parked in its isolate and hands every settled state to them at once. It writes nothing
-- unless something expires: the delivery receipt is written after the answer
-- (private.mark_approvals_delivered), off the decision → answer path, where it cost as much
-- as the re-read itself (bench/FINDINGS.md).
create function private.settle_approvals(p_ids uuid[]) returns jsonb
language plpgsql set search_path = '' as $$
declare
  v_expired integer := 0;
  v_settled jsonb;
begin
  -- (no row lock unless one is due: a woken decision's re-read is a plain read)
  if exists (select 1 from public.approvals a
             where a.id = any(p_ids) and a.status = 'PENDING' and a.expires_at <= now()) then
    v_expired := private.expire_due_approvals(p_ids);
  end if;
  select coalesce(jsonb_agg(private.approval_state(a)), '[]'::jsonb)
  into v_settled
  from public.approvals a
  where a.id = any(p_ids) and a.status <> 'PENDING';
  return jsonb_build_object('expired', v_expired, 'settled', v_settled);
end
$$;

-- mobile-approval-decision: one compare-and-set under the approval's row lock, so exactly
-- one decision wins under any concurrency. Out: {result, pushes} (200; pushes: the clear
-- pushes queued, 0 when no other device is paired: nothing to deliver) or, for an approval found
-- past its expiry, {expired: details}: the expiry is kept (timeline event, NOTIFY, clear
-- push) and the endpoint answers 409 expired. Other refusals raise and write nothing.
create function private.decide_approval(
  p_user_id uuid, p_approval_id uuid, p_decision text, p_note text, p_device_id uuid
) returns jsonb
language plpgsql set search_path = '' as $$
declare
  v_approval public.approvals;
  v_devices uuid[];
  v_device uuid;
  v_status text := case p_decision when 'APPROVE' then 'APPROVED' when 'DENY' then 'DENIED' end;
  v_pushes integer;
begin
  if v_status is null then
    perform private.fail('invalid_request', 'Invalid request: decision must be APPROVE or DENY');
  end if;
  select * into v_approval from public.approvals where id = p_approval_id for update;
  if found then
    select array_agg(d.id order by d.id) into v_devices
    from public.workspace_devices wd
    join public.devices d on d.id = wd.device_id
    where wd.workspace_id = v_approval.workspace_id and d.user_id = p_user_id;
  end if;
  -- No existence oracle: an approval of a workspace none of the user's devices is paired
  -- with is answered exactly like one that does not exist.
  if v_devices is null then
    perform private.fail('not_found', 'Not found: no such approval');
  end if;
  if p_device_id is not null then
    if not p_device_id = any(v_devices) then
      perform private.fail('not_found',
        'Not found: device_id is not one of your devices paired with this workspace');
    end if;
    v_device := p_device_id;
  elsif cardinality(v_devices) > 1 then
    perform private.fail('invalid_request',
      format('Invalid request: device_id is required, since %s of your devices are paired with this workspace',
             cardinality(v_devices)),
      jsonb_build_object('device_ids', to_jsonb(v_devices)));
  else
    v_device := v_devices[1];
  end if;

  if v_approval.status = 'PENDING' and v_approval.expires_at <= now() then
    perform private.expire_due_approvals(array[v_approval.id]);
    select * into v_approval from public.approvals where id = p_approval_id;
  end if;
  if v_approval.status = 'EXPIRED' then
    return jsonb_build_object('expired', private.approval_state(v_approval));
  end if;
  if v_approval.status <> 'PENDING' then
    if v_approval.status = v_status and v_approval.decided_by_user_id = p_user_id then
      return jsonb_build_object('result', private.approval_decision(v_approval), 'pushes', 0);
    end if;
    perform private.fail('already_decided',
      format('Already decided: the approval was %s at %s', lower(v_approval.status),
             private.ts_text(v_approval.decided_at)),
      private.approval_decision(v_approval));
  end if;

  update public.approvals
  set status = v_status, note = p_note, decided_at = now(),
      decided_by_device_id = v_device, decided_by_user_id = p_user_id
  where id = p_approval_id
  returning * into v_approval;

  perform private.append_approval_event(v_approval, 'APPROVAL_DECIDED',
    jsonb_build_object('approval_id', v_approval.id, 'status', v_approval.status,
                       'note', v_approval.note, 'decided_by_device_id', v_device,
                       'decided_by_user_id', p_user_id));
  perform private.approval_settled(v_approval);
  v_pushes := private.enqueue_approval_clear_push(v_approval, v_device);
  return jsonb_build_object('result', private.approval_decision(v_approval),
                            'pushes', v_pushes);
end
$$;

-- The waiting hook runner got the decision: delivered_at and APPROVAL_DELIVERED, once.
-- Returns the wait's answer (with devices_notified).
create function private.mark_approval_delivered(p_approval_id uuid) returns jsonb
language plpgsql set search_path = '' as $$
declare
  v_approval public.approvals;
begin
  update public.approvals
  set delivered_at = now()
  where id = p_approval_id and delivered_at is null and status in ('APPROVED', 'DENIED')
  returning * into v_approval;
  if found then
    perform private.append_approval_event(v_approval, 'APPROVAL_DELIVERED',
      jsonb_build_object('approval_id', v_approval.id, 'status', v_approval.status,
                         'devices_notified', v_approval.devices_notified,
                         'push_sent', v_approval.push_sent));
  else
    select * into v_approval from public.approvals where id = p_approval_id;
  end if;
  return private.approval_state(v_approval);
end
$$;

-- The waiter answered these decided approvals: the receipt of each (delivered_at and
-- APPROVAL_DELIVERED, once: private.mark_approval_delivered), in id order, so two isolates
-- marking overlapping approvals lock their runs in the same order. Returns how many ids.
create function private.mark_approvals_delivered(p_ids uuid[]) returns integer
language plpgsql set search_path = '' as $$
declare
  v_id uuid;
  v_count integer := 0;
begin
  for v_id in select distinct x from unnest(p_ids) x order by 1 loop
    perform private.mark_approval_delivered(v_id);
    v_count := v_count + 1;
  end loop;
  return v_count;
end
$$;
