-- Notifications you can act on (issue 17): single-use decision tokens carried by approval
-- pushes (POST /push-decision), one reminder per pending approval, and delivery receipts
-- (push acceptances counted on the approval; delivered_at, set by
-- private.mark_approval_delivered in the approvals migration, when the waiting hook runner
-- got the decision). The columns they use are on public.approvals (approvals migration);
-- Web Push is a platform and provider of public.devices (workspaces migration). Depends on
-- approvals and push.

-- ---------------------------------------------------------------------------
-- Decision tokens: one per approval push attempt and device, stored only as SHA-256 hex,
-- valid until the approval expires, single use.
-- ---------------------------------------------------------------------------
-- No foreign keys on purpose: the check would take a KEY SHARE lock on the approval (or the
-- device) inside the sweep's claim (which holds the claimed outbox rows), while a decision
-- holds the approval and waits for those rows: a deadlock. A token whose approval (or
-- device) is gone decides nothing (not_found), and expired tokens are purged by
-- private.claim_due_reminders.
create table private.decision_tokens (
  token_hash text primary key,
  approval_id uuid not null,
  device_id uuid not null,
  outbox_id bigint,
  expires_at timestamptz not null,
  created_at timestamptz not null default now(),
  used_at timestamptz
);
create index decision_tokens_approval_idx on private.decision_tokens (approval_id);
create index decision_tokens_expires_idx on private.decision_tokens (expires_at);
revoke all on private.decision_tokens from public;

-- Reminders: claims the approvals whose reminder is due (still PENDING, not expired, not
-- reminded yet) with `for update skip locked`, so concurrent sweeps remind each once;
-- stamps reminded_at, puts APPROVAL_REMINDED on the timeline and queues the reminder push
-- (kind approval: it is dropped like the first push once the approval is decided).
-- Returns how many approvals were reminded.
create function private.claim_due_reminders(p_limit integer default 100)
returns integer
language plpgsql set search_path = '' as $$
declare
  v_approval public.approvals;
  v_count integer := 0;
begin
  -- the retention of decision tokens rides on the sweep: a day past their expiry, a few
  -- at a time (an index range scan that is almost always empty)
  delete from private.decision_tokens t
  where t.token_hash in (select d.token_hash from private.decision_tokens d
                         where d.expires_at < now() - interval '1 day'
                         order by d.expires_at limit 200);

  for v_approval in
    with due as (
      select a.id from public.approvals a
      where a.status = 'PENDING' and a.reminded_at is null and a.remind_at is not null
        and a.remind_at <= now() and a.expires_at > now()
      order by a.remind_at, a.id
      limit greatest(p_limit, 0)
      for update skip locked
    ), reminded as (
      update public.approvals a set reminded_at = now()
      from due where a.id = due.id
      returning a.*
    )
    select * from reminded
  loop
    perform private.append_approval_event(v_approval, 'APPROVAL_REMINDED',
      jsonb_build_object('approval_id', v_approval.id,
                         'devices_notified', v_approval.devices_notified,
                         'expires_at', private.ts_text(v_approval.expires_at)));
    perform private.enqueue_push(
      v_approval.workspace_id, 'approval', private.approval_push_message(v_approval, true),
      v_approval.id, v_approval.run_id, v_approval.expires_at, null);
    v_count := v_count + 1;
  end loop;
  return v_count;
end
$$;

-- Whether a push may carry a decision for this approval to this device: always, except a
-- command the gate marked dangerous (requires_unlock) on a device that is not iOS (only
-- iOS's AGENTOPS_APPROVAL_SECURE category makes the OS unlock the device before the action).
create function private.push_may_decide(p_approval_id uuid, p_device_id uuid) returns boolean
language sql stable set search_path = '' as $$
  select not a.requires_unlock or coalesce(d.platform = 'ios', false)
  from public.approvals a
  left join public.devices d on d.id = p_device_id
  where a.id = p_approval_id
$$;

-- The sweep's claim, one call per round: the approvals whose reminder is due get their
-- reminder rows (private.claim_due_reminders), then private.claim_push_batch, then a fresh
-- decision token for every
-- approval push (a retry gets a new one; each is single use and dies with the approval).
-- The raw token only travels in the returned job's message.data.decision_token; the table
-- keeps its SHA-256.
create function private.claim_push_jobs(
  p_limit integer, p_lease_seconds integer default 60
) returns jsonb
language plpgsql set search_path = '' as $$
declare
  v_jobs jsonb;
  v_job jsonb;
  v_out jsonb := '[]'::jsonb;
  v_token text;
begin
  perform private.claim_due_reminders(p_limit);
  v_jobs := private.claim_push_batch(p_limit, p_lease_seconds);
  for v_job in select j from jsonb_array_elements(v_jobs) j loop
    -- A command the gate marks dangerous gets no token except on iOS, whose
    -- AGENTOPS_APPROVAL_SECURE actions the OS runs only after the device is unlocked;
    -- elsewhere nothing enforces the unlock, so the user decides in the app (signed in).
    if v_job ->> 'kind' = 'approval' and v_job ->> 'approval_id' is not null
       and private.push_may_decide((v_job ->> 'approval_id')::uuid,
                                   (v_job ->> 'device_id')::uuid) then
      -- 32 bytes from two v4 UUIDs: 244 random bits, base64url without padding
      v_token := translate(encode(uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid()),
                                  'base64'), '+/=', '-_');
      insert into private.decision_tokens (token_hash, approval_id, device_id, outbox_id,
                                           expires_at)
      select encode(sha256(convert_to(v_token, 'UTF8')), 'hex'), a.id,
             (v_job ->> 'device_id')::uuid, (v_job ->> 'id')::bigint, a.expires_at
      from public.approvals a where a.id = (v_job ->> 'approval_id')::uuid;
      v_job := jsonb_set(v_job, '{message,data}',
        coalesce(v_job #> '{message,data}', '{}'::jsonb) ||
          jsonb_build_object('decision_token', v_token));
    end if;
    v_out := v_out || jsonb_build_array(v_job);
  end loop;
  return v_out;
end
$$;

-- push-decision: the decision token is the credential. Counts a hit per client IP and per
-- token (committed even when the token is refused, so guessing is bounded), finds the
-- unused, unexpired token, and decides through private.decide_approval as the token's
-- device (same single-winner rules, same APPROVAL_DECIDED event, decided_by_device_id);
-- the token is then used. A used, unknown or expired token, or one whose device is no
-- longer paired with the workspace, answers one not_found. Refusals are returned as
-- {error: {code, message, details?}} rather than raised, so the rate-limit hits stay.
create function private.push_decide(
  p_token_hash text, p_ip text, p_decision text, p_note text,
  p_ip_limit integer, p_token_limit integer
) returns jsonb
language plpgsql set search_path = '' as $$
declare
  v_token private.decision_tokens;
  v_user uuid;
  v_out jsonb;
  v_code text;
  v_message text;
  v_hint text;
  v_not_found constant jsonb := jsonb_build_object('error', jsonb_build_object(
    'code', 'not_found',
    'message', 'Not found: the decision token is unknown, used or expired'));
begin
  begin
    perform private.hit_rate_limit('push_decision:ip:' || p_ip, p_ip_limit, 60);
    perform private.hit_rate_limit('push_decision:token:' || p_token_hash, p_token_limit, 60);
  exception when sqlstate 'AOERR' then
    get stacked diagnostics v_code = message_text, v_message = pg_exception_detail,
                            v_hint = pg_exception_hint;
    return jsonb_build_object('error', jsonb_build_object('code', v_code,
      'message', v_message, 'details', nullif(v_hint, '')::jsonb));
  end;

  select * into v_token from private.decision_tokens
  where token_hash = p_token_hash and used_at is null and expires_at > now()
  for update;
  if not found then
    return v_not_found;
  end if;
  select d.user_id into v_user
  from public.devices d
  join public.approvals a on a.id = v_token.approval_id
  join public.workspace_devices wd on wd.workspace_id = a.workspace_id and wd.device_id = d.id
  where d.id = v_token.device_id;
  if v_user is null then
    return v_not_found;
  end if;
  if not private.push_may_decide(v_token.approval_id, v_token.device_id) then
    return jsonb_build_object('error', jsonb_build_object('code', 'forbidden',
      'message', 'Forbidden: this command was marked dangerous; open AgentOps to decide it'));
  end if;

  begin
    v_out := private.decide_approval(v_user, v_token.approval_id, p_decision, p_note,
                                     v_token.device_id);
  exception when sqlstate 'AOERR' then
    get stacked diagnostics v_code = message_text, v_message = pg_exception_detail,
                            v_hint = pg_exception_hint;
    return jsonb_build_object('error', jsonb_build_object('code', v_code,
      'message', v_message, 'details', nullif(v_hint, '')::jsonb));
  end;
  update private.decision_tokens set used_at = now() where token_hash = p_token_hash;
  return v_out;
end
$$;

-- Receipts. A provider accepting an approval push counts on the approval: push_sent for
-- every acceptance (reminders included), devices_notified once per device. The approval's
-- row lock is taken first, so two acceptances for one device never both count it. The log
-- provider (no credentials configured) notifies nobody and is not counted.
create function private.count_approval_push_sent() returns trigger
language plpgsql set search_path = '' as $$
begin
  update public.approvals set push_sent = push_sent + 1 where id = new.approval_id;
  if not exists (select 1 from private.push_outbox o
                 where o.approval_id = new.approval_id and o.device_id = new.device_id
                   and o.kind = 'approval' and o.status = 'sent' and o.id <> new.id) then
    update public.approvals set devices_notified = devices_notified + 1
    where id = new.approval_id;
  end if;
  return null;
end
$$;

create trigger push_outbox_count_sent
  after update of status on private.push_outbox
  for each row
  when (new.status = 'sent' and old.status is distinct from 'sent' and new.kind = 'approval'
        and new.approval_id is not null and new.provider is distinct from 'log')
  execute function private.count_approval_push_sent();
