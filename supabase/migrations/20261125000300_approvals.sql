-- Approvals (SPEC section 4 endpoints 5-7, section 7): request, wait, decide, expire.
-- Every state change is one function call in one transaction; a decision or an expiry
-- sends NOTIFY approval_decided (payload: the approval id, nothing else) in that
-- transaction, which wakes the long-polls parked in any isolate; they re-read the rows
-- (supabase/functions/_shared/approval_waiter.ts).

-- The answer of bridge-approval-wait (and the waiter): what the hook runner needs.
create or replace function private.approval_state(p_approval public.approvals) returns jsonb
language sql immutable as $$
  select jsonb_build_object(
    'approval_id', p_approval.id,
    'status', p_approval.status,
    'note', p_approval.note,
    'decided_at', private.ts_text(p_approval.decided_at),
    'expires_at', private.ts_text(p_approval.expires_at))
$$;

-- The answer of mobile-approval-decision (also the stored result of already_decided).
create or replace function private.approval_decision(p_approval public.approvals) returns jsonb
language sql immutable as $$
  select jsonb_build_object(
    'approval_id', p_approval.id,
    'status', p_approval.status,
    'note', p_approval.note,
    'decided_at', private.ts_text(p_approval.decided_at),
    'decided_by_device_id', p_approval.decided_by_device_id)
$$;

-- An approval's timeline event on its run; the run counts as active then (its
-- last_event_at orders the phone's recent runs and drives retention). Its status is left
-- alone: approval events are not run events.
create or replace function private.append_approval_event(
  p_approval public.approvals, p_type text, p_payload jsonb
) returns void
language plpgsql as $$
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
create or replace function private.approval_settled(p_approval public.approvals) returns void
language plpgsql as $$
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
create or replace function private.expire_due_approvals(p_ids uuid[]) returns integer
language plpgsql as $$
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
-- expires_in_seconds, provider?, request_key?} (the path itself never reaches the
-- database). Out: {approval_id, status, expires_at, created}; created false when the
-- request_key already made an approval in this workspace (the endpoint answers 200).
create or replace function private.request_approval(
  p_workspace_id uuid, p_secret_version integer, p_nonce text, p_body jsonb,
  p_rate_limit integer
) returns jsonb
language plpgsql as $$
declare
  v_key text := p_body ->> 'request_key';
  v_approval public.approvals;
  v_run public.runs;
begin
  perform private.consume_nonce(p_workspace_id, p_secret_version, p_nonce);

  -- A retry of a request that already made its approval: the same answer, no second
  -- approval, and no rate-limit hit (the client retries with a fresh nonce).
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
                                provider, request_key, expires_at)
  values (v_run.id, p_workspace_id, coalesce(p_body ->> 'kind', 'command'),
          p_body ->> 'command', p_body ->> 'cwd_hash', p_body -> 'context',
          coalesce(p_body ->> 'provider', v_run.provider), v_key,
          now() + make_interval(secs => coalesce((p_body ->> 'expires_in_seconds')::integer, 600)))
  on conflict (workspace_id, request_key) do nothing
  returning * into v_approval;

  if v_approval.id is null then
    -- A concurrent copy with the same request_key won the insert: answer with its approval.
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
      'expires_at', private.ts_text(v_approval.expires_at))));
  perform private.enqueue_approval_push(v_approval);

  return jsonb_build_object('approval_id', v_approval.id, 'status', v_approval.status,
    'expires_at', private.ts_text(v_approval.expires_at), 'created', true);
end
$$;

-- bridge-approval-wait, first read: consumes the nonce and reads the workspace's approval
-- (expiring it when it is due). Another workspace's approval is not_found.
create or replace function private.read_approval_for_wait(
  p_workspace_id uuid, p_secret_version integer, p_nonce text, p_approval_id uuid
) returns jsonb
language plpgsql as $$
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
-- a reconnect, an expiry): expires the due ones, returns the states of those no longer
-- PENDING as {settled: [state…], expired: n}.
create or replace function private.settle_approvals(p_ids uuid[]) returns jsonb
language plpgsql as $$
declare
  v_expired integer;
begin
  v_expired := private.expire_due_approvals(p_ids);
  return jsonb_build_object(
    'expired', v_expired,
    'settled', coalesce((
      select jsonb_agg(private.approval_state(a))
      from public.approvals a
      where a.id = any(p_ids) and a.status <> 'PENDING'), '[]'::jsonb));
end
$$;

-- mobile-approval-decision: one compare-and-set under the approval's row lock, so exactly
-- one decision wins under any concurrency. Out: {result} (200) or, for an approval found
-- past its expiry, {expired: details}: the expiry is kept (timeline event, NOTIFY, clear
-- push) and the endpoint answers 409 expired. Other refusals raise and write nothing.
create or replace function private.decide_approval(
  p_user_id uuid, p_approval_id uuid, p_decision text, p_note text, p_device_id uuid
) returns jsonb
language plpgsql as $$
declare
  v_approval public.approvals;
  v_devices uuid[];
  v_device uuid;
  v_status text := case p_decision when 'APPROVE' then 'APPROVED' when 'DENY' then 'DENIED' end;
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
      return jsonb_build_object('result', private.approval_decision(v_approval));
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
  perform private.enqueue_approval_clear_push(v_approval, v_device);
  return jsonb_build_object('result', private.approval_decision(v_approval));
end
$$;

-- Server-only, like every function in private (see 20261125000200_events.sql).
revoke all on function private.append_approval_event(public.approvals, text, jsonb),
  private.approval_state(public.approvals),
  private.approval_decision(public.approvals), private.approval_settled(public.approvals),
  private.expire_due_approvals(uuid[]),
  private.request_approval(uuid, integer, text, jsonb, integer),
  private.read_approval_for_wait(uuid, integer, text, uuid), private.settle_approvals(uuid[]),
  private.decide_approval(uuid, uuid, text, text, uuid)
from public, anon, authenticated;
