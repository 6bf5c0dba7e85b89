-- Notifications you can act on (issue 17): Web Push devices, single-use decision tokens
-- carried by approval pushes (POST /push-decision), one reminder per pending approval, and
-- delivery receipts (push acceptances counted on the approval, delivered_at when the
-- waiting hook runner got the decision). Every new function fixes its search_path and is
-- granted to nobody but its owner (the functions connect as the owner).

-- ---------------------------------------------------------------------------
-- Web Push as a third provider: platform "web", push_provider "webpush" (the push token is
-- the browser's PushSubscription JSON, validated by the API schema).
-- ---------------------------------------------------------------------------
alter table public.devices drop constraint if exists devices_platform_check;
alter table public.devices add constraint devices_platform_check
  check (platform in ('ios', 'android', 'web'));
alter table public.devices drop constraint if exists devices_push_provider_check;
alter table public.devices add constraint devices_push_provider_check
  check (push_provider in ('fcm', 'apns', 'webpush'));

-- ---------------------------------------------------------------------------
-- Approval columns: receipts, the "requires unlock" category, the reminder's schedule.
-- ---------------------------------------------------------------------------
alter table public.approvals
  add column if not exists push_sent integer not null default 0,
  add column if not exists devices_notified integer not null default 0,
  add column if not exists delivered_at timestamptz,
  add column if not exists requires_unlock boolean not null default false,
  add column if not exists remind_at timestamptz,
  add column if not exists reminded_at timestamptz;

-- the sweep's "which reminders are due" is one range scan over a small partial index
create index if not exists approvals_remind_due_idx on public.approvals (remind_at)
  where status = 'PENDING' and reminded_at is null and remind_at is not null;

-- ---------------------------------------------------------------------------
-- Decision tokens: one per approval push attempt and device, stored only as SHA-256 hex,
-- valid until the approval expires, single use.
-- ---------------------------------------------------------------------------
-- No foreign keys on purpose: the check would take a KEY SHARE lock on the approval (or the
-- device) inside the sweep's claim (which holds the claimed outbox rows), while a decision
-- holds the approval and waits for those rows: a deadlock. A token whose approval (or
-- device) is gone decides nothing (not_found), and expired tokens are purged by
-- private.claim_due_reminders.
create table if not exists private.decision_tokens (
  token_hash text primary key,
  approval_id uuid not null,
  device_id uuid not null,
  outbox_id bigint,
  expires_at timestamptz not null,
  created_at timestamptz not null default now(),
  used_at timestamptz
);
create index if not exists decision_tokens_approval_idx on private.decision_tokens (approval_id);
create index if not exists decision_tokens_expires_idx on private.decision_tokens (expires_at);
revoke all on private.decision_tokens from public;

-- ---------------------------------------------------------------------------
-- The approval's wait answer gains devices_notified (how many devices a provider accepted
-- an approval push for); the rest is unchanged.
-- ---------------------------------------------------------------------------
create or replace function private.approval_state(p_approval public.approvals) returns jsonb
language sql immutable set search_path = '' as $$
  select jsonb_build_object(
    'approval_id', p_approval.id,
    'status', p_approval.status,
    'note', p_approval.note,
    'decided_at', private.ts_text(p_approval.decided_at),
    'expires_at', private.ts_text(p_approval.expires_at),
    'devices_notified', coalesce(p_approval.devices_notified, 0))
$$;

-- ---------------------------------------------------------------------------
-- Push content (SPEC section 6) for an approval and for its reminder. A command the gate
-- marks dangerous gets the category whose actions require unlocking the device
-- (AGENTOPS_APPROVAL_SECURE on iOS) and data.requires_unlock "true" for Android and the web.
-- ---------------------------------------------------------------------------
create or replace function private.approval_push_message(
  p_approval public.approvals, p_reminder boolean
) returns jsonb
language sql stable set search_path = '' as $$
  select jsonb_build_object(
    'title', case when p_reminder
                  then 'still waiting · ' || case when char_length(p_approval.command) > 80
                                                  then left(p_approval.command, 79) || '…'
                                                  else p_approval.command end
                  else 'Approval needed · ' || (select w.display_name from public.workspaces w
                                                where w.id = p_approval.workspace_id) end,
    'body', case when char_length(p_approval.command) > 200
                 then left(p_approval.command, 199) || '…' else p_approval.command end,
    'data', jsonb_build_object('type', 'approval', 'approval_id', p_approval.id,
                               'run_id', p_approval.run_id,
                               'workspace_id', p_approval.workspace_id,
                               'expires_at', p_approval.expires_at,
                               'requires_unlock', case when p_approval.requires_unlock
                                                       then 'true' else 'false' end)
            || case when p_reminder then jsonb_build_object('reminder', 'true')
                    else '{}'::jsonb end,
    'collapse_id', p_approval.id::text,
    'category', case when p_approval.requires_unlock then 'AGENTOPS_APPROVAL_SECURE'
                     else 'AGENTOPS_APPROVAL' end,
    'time_sensitive', true,
    'priority', 'high'
  )
$$;

create or replace function private.enqueue_approval_push(p_approval public.approvals)
returns integer
language sql set search_path = '' as $$
  select private.enqueue_push(
    p_approval.workspace_id, 'approval', private.approval_push_message(p_approval, false),
    p_approval.id, p_approval.run_id, p_approval.expires_at, null)
$$;

-- ---------------------------------------------------------------------------
-- bridge-approval-request, as in 20261125000300_approvals.sql, plus two fields the
-- endpoint computes: requires_unlock (the command policy's verdict) and
-- remind_after_seconds (APPROVAL_REMIND_AFTER_SECONDS; default half the lifetime, at least
-- 30 s). A reminder that would come at or after the expiry is not scheduled.
-- ---------------------------------------------------------------------------
create or replace function private.request_approval(
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

-- ---------------------------------------------------------------------------
-- Reminders: claims the approvals whose reminder is due (still PENDING, not expired, not
-- reminded yet) with `for update skip locked`, so concurrent sweeps remind each once;
-- stamps reminded_at, puts APPROVAL_REMINDED on the timeline and queues the reminder push
-- (kind approval: it is dropped like the first push once the approval is decided).
-- Returns how many approvals were reminded.
-- ---------------------------------------------------------------------------
create or replace function private.claim_due_reminders(p_limit integer default 100)
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

-- ---------------------------------------------------------------------------
-- The sweep's claim, one call per round: the approvals whose reminder is due get their
-- reminder rows (private.claim_due_reminders), then private.claim_push_batch, then a fresh
-- decision token for every
-- approval push (a retry gets a new one; each is single use and dies with the approval).
-- The raw token only travels in the returned job's message.data.decision_token; the table
-- keeps its SHA-256.
-- ---------------------------------------------------------------------------
create or replace function private.claim_push_jobs(
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
    if v_job ->> 'kind' = 'approval' and v_job ->> 'approval_id' is not null then
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

-- ---------------------------------------------------------------------------
-- push-decision: the decision token is the credential. Counts a hit per client IP and per
-- token (committed even when the token is refused, so guessing is bounded), finds the
-- unused, unexpired token, and decides through private.decide_approval as the token's
-- device (same single-winner rules, same APPROVAL_DECIDED event, decided_by_device_id);
-- the token is then used. A used, unknown or expired token, or one whose device is no
-- longer paired with the workspace, answers one not_found. Refusals are returned as
-- {error: {code, message, details?}} rather than raised, so the rate-limit hits stay.
-- ---------------------------------------------------------------------------
create or replace function private.push_decide(
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

-- ---------------------------------------------------------------------------
-- Receipts. A provider accepting an approval push counts on the approval: push_sent for
-- every acceptance (reminders included), devices_notified once per device. The approval's
-- row lock is taken first, so two acceptances for one device never both count it. The log
-- provider (no credentials configured) notifies nobody and is not counted.
-- ---------------------------------------------------------------------------
create or replace function private.count_approval_push_sent() returns trigger
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

drop trigger if exists push_outbox_count_sent on private.push_outbox;
create trigger push_outbox_count_sent
  after update of status on private.push_outbox
  for each row
  when (new.status = 'sent' and old.status is distinct from 'sent' and new.kind = 'approval'
        and new.approval_id is not null and new.provider is distinct from 'log')
  execute function private.count_approval_push_sent();

-- The waiting hook runner got the decision: delivered_at and APPROVAL_DELIVERED, once.
-- Returns the wait's answer (with devices_notified).
create or replace function private.mark_approval_delivered(p_approval_id uuid) returns jsonb
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

-- ---------------------------------------------------------------------------
-- On Supabase the cron job calls push-dispatch only when there is work: now also when a
-- reminder is due (the sweep claims it).
-- ---------------------------------------------------------------------------
create or replace function private.request_push_dispatch() returns bigint
language plpgsql security definer set search_path = '' as $$
declare
  v_url text;
  v_secret text;
  v_request_id bigint;
begin
  if not exists (select 1 from private.push_outbox o
                 where o.status in ('pending', 'sending') and o.next_attempt_at <= now()
                   and (o.locked_until is null or o.locked_until < now()))
     and not exists (select 1 from public.approvals a
                     where a.status = 'PENDING' and a.reminded_at is null
                       and a.remind_at is not null and a.remind_at <= now()
                       and a.expires_at > now()) then
    return null;
  end if;
  if not exists (select 1 from pg_namespace where nspname = 'vault')
     or not exists (select 1 from pg_namespace where nspname = 'net') then
    raise warning 'push-dispatch not called: Supabase Vault and pg_net are not installed';
    return null;
  end if;
  execute $q$select
      (select decrypted_secret from vault.decrypted_secrets where name = 'agentops_functions_url'),
      (select decrypted_secret from vault.decrypted_secrets where name = 'agentops_push_dispatch_secret')$q$
    into v_url, v_secret;
  if v_url is null or v_secret is null then
    raise warning 'push-dispatch not called: set the Vault secrets agentops_functions_url and agentops_push_dispatch_secret';
    return null;
  end if;
  execute 'select net.http_post(url := $1, headers := $2, body := $3, timeout_milliseconds := 55000)'
    into v_request_id
    using rtrim(v_url, '/') || '/push-dispatch',
          jsonb_build_object('content-type', 'application/json',
                             'authorization', 'Bearer ' || v_secret),
          '{}'::jsonb;
  return v_request_id;
end
$$;

-- Server-only: nobody but the owner (the functions' connection) may call these.
revoke all on function private.approval_state(public.approvals),
  private.approval_push_message(public.approvals, boolean),
  private.enqueue_approval_push(public.approvals),
  private.request_approval(uuid, integer, text, jsonb, integer),
  private.claim_due_reminders(integer),
  private.claim_push_jobs(integer, integer),
  private.push_decide(text, text, text, text, integer, integer),
  private.count_approval_push_sent(),
  private.mark_approval_delivered(uuid),
  private.request_push_dispatch()
from public, anon, authenticated;
