-- Push delivery (docs/contract/push.md): the outbox (one row per device per notification, written
-- in the request's transaction, delivered after the response and by the sweep), what each
-- notification says, claiming due rows, recording every outcome on the row (retry with
-- backoff honouring Retry-After, dead tokens cleared and put on the timeline,
-- configuration errors kept loud), and the pg_cron + pg_net job that calls the
-- push-dispatch function on Supabase (skipped where those extensions are absent). Depends
-- on workspaces, the timeline and approvals; the notifications migration builds the
-- sweep's claim (private.claim_push_jobs) on private.claim_push_batch.

create table private.push_outbox (
  id bigint generated always as identity primary key,
  device_id uuid not null references public.devices (id) on delete cascade,
  workspace_id uuid not null references public.workspaces (id) on delete cascade,
  kind text not null check (kind in ('approval', 'approval_clear', 'run')),
  approval_id uuid references public.approvals (id) on delete cascade,
  run_id uuid references public.runs (id) on delete cascade,
  -- provider-neutral message: {title, body, data, collapse_id, silent, category, time_sensitive}
  message jsonb not null,
  expires_at timestamptz,
  status text not null default 'pending'
    check (status in ('pending', 'sending', 'sent', 'failed', 'dropped')),
  attempts integer not null default 0,
  next_attempt_at timestamptz not null default now(),
  locked_until timestamptz,
  last_outcome text,
  last_http_status integer,
  last_error text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  sent_at timestamptz,
  -- which provider handled the row's last attempt (fcm, apns, webpush or log): together
  -- with last_outcome it tells a silent outage from a quiet day
  provider text
);
create index push_outbox_due_idx on private.push_outbox (next_attempt_at)
  where status in ('pending', 'sending');
create index push_outbox_approval_idx on private.push_outbox (approval_id)
  where approval_id is not null;
-- "Is this kind of message known good?" (FCM INVALID_ARGUMENT clears a token only then).
create index push_outbox_sent_kind_idx on private.push_outbox (kind, provider)
  where status = 'sent';

-- ---------------------------------------------------------------------------
-- Queueing: one row per paired device (delivered after the response: deliverSoon, or the sweep).
-- ---------------------------------------------------------------------------
create function private.enqueue_push(
  p_workspace_id uuid, p_kind text, p_message jsonb, p_approval_id uuid default null,
  p_run_id uuid default null, p_expires_at timestamptz default null,
  p_except_device_id uuid default null
) returns integer
language plpgsql set search_path = '' as $$
declare
  v_count integer;
begin
  insert into private.push_outbox (device_id, workspace_id, kind, approval_id, run_id,
                                   message, expires_at)
  select wd.device_id, p_workspace_id, p_kind, p_approval_id, p_run_id, p_message, p_expires_at
  from public.workspace_devices wd
  where wd.workspace_id = p_workspace_id
    and wd.device_id is distinct from p_except_device_id;
  get diagnostics v_count = row_count;
  return v_count;
end
$$;

-- docs/contract/push.md#content: "<display_name> · run completed|failed|stopped", body
-- last_message.
create function private.enqueue_run_ended_push(p_run public.runs) returns integer
language sql set search_path = '' as $$
  select private.enqueue_push(
    p_run.workspace_id,
    'run',
    jsonb_build_object(
      'title', (select w.display_name from public.workspaces w where w.id = p_run.workspace_id)
               || ' · run ' || lower(p_run.status),
      'body', coalesce(p_run.last_message, ''),
      'data', jsonb_build_object('type', 'run', 'run_id', p_run.id,
                                 'workspace_id', p_run.workspace_id, 'status', p_run.status),
      'collapse_id', 'run-' || p_run.id::text
    ),
    null, p_run.id, null, null)
$$;

-- Push content (docs/contract/push.md#content) for an approval and for its reminder: "Approval
-- needed · <display_name>" (the reminder: "still waiting · <command>"), body the command (≤ 200
-- chars), time-sensitive, collapse id = approval id. A command the gate marks dangerous
-- gets the category whose actions require unlocking the device (AGENTOPS_APPROVAL_SECURE
-- on iOS, else AGENTOPS_APPROVAL) and data.requires_unlock "true" for Android and the web.
create function private.approval_push_message(
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

-- An approval's push, expiring at the approval's expires_at.
create function private.enqueue_approval_push(p_approval public.approvals)
returns integer
language sql set search_path = '' as $$
  select private.enqueue_push(
    p_approval.workspace_id, 'approval', private.approval_push_message(p_approval, false),
    p_approval.id, p_approval.run_id, p_approval.expires_at, null)
$$;

-- A silent push to the workspace's other devices that clears the approval's notification.
-- (plpgsql: in every decision; as a sql function it was planned anew, 80 us a call.)
create function private.enqueue_approval_clear_push(
  p_approval public.approvals, p_except_device_id uuid
) returns integer
language plpgsql set search_path = '' as $$
begin
  return private.enqueue_push(
    p_approval.workspace_id,
    'approval_clear',
    jsonb_build_object(
      'silent', true,
      'data', jsonb_build_object('type', 'approval_resolved', 'approval_id', p_approval.id,
                                 'run_id', p_approval.run_id,
                                 'workspace_id', p_approval.workspace_id,
                                 'status', p_approval.status),
      'collapse_id', p_approval.id::text
    ),
    p_approval.id, p_approval.run_id, now() + interval '1 hour', p_except_device_id);
end
$$;

-- ---------------------------------------------------------------------------
-- Delivery
-- ---------------------------------------------------------------------------
-- Claims up to p_limit due rows (pending, or sending whose lease ran out) with
-- `for update skip locked`, so concurrent sweepers never share a row. Rows that must not be
-- sent are settled here with their outcome: an approval already decided or expired, a
-- row past its expiry, a device without a push token. The rest become `sending` under a
-- lease of p_lease_seconds (a sweeper that dies mid-send leaves them to the next one) and
-- are returned with the device's current token.
create function private.claim_push_batch(
  p_limit integer, p_lease_seconds integer default 60
) returns jsonb
language plpgsql set search_path = '' as $$
declare
  v_ids bigint[];
  v_jobs jsonb;
begin
  select coalesce(array_agg(id), '{}') into v_ids from (
    select o.id
    from private.push_outbox o
    where o.status in ('pending', 'sending')
      and o.next_attempt_at <= now()
      and (o.locked_until is null or o.locked_until < now())
    order by o.next_attempt_at, o.id
    limit greatest(p_limit, 0)
    for update skip locked
  ) due;

  if cardinality(v_ids) = 0 then
    return '[]'::jsonb;
  end if;

  update private.push_outbox o
  set status = 'dropped', locked_until = null, updated_at = now(),
      last_outcome = case when a.status <> 'PENDING' then 'approval_decided'
                          else 'approval_expired' end,
      last_error = case when a.status <> 'PENDING'
                        then 'Not sent: the approval is already ' || a.status
                        else 'Not sent: the approval expired at ' || private.ts_text(a.expires_at) end
  from public.approvals a
  where o.id = any (v_ids) and o.kind = 'approval' and a.id = o.approval_id
    and (a.status <> 'PENDING' or a.expires_at <= now());

  update private.push_outbox o
  set status = 'dropped', locked_until = null, updated_at = now(), last_outcome = 'expired',
      last_error = 'Not sent: the notification expired at ' || private.ts_text(o.expires_at)
  where o.id = any (v_ids) and o.status in ('pending', 'sending') and o.expires_at <= now();

  update private.push_outbox o
  set status = 'dropped', locked_until = null, updated_at = now(), last_outcome = 'no_token',
      last_error = 'Not sent: the device has no push token'
  from public.devices d
  where o.id = any (v_ids) and o.status in ('pending', 'sending') and d.id = o.device_id
    and (d.push_token is null or d.push_token = '');

  with claimed as (
    update private.push_outbox o
    set status = 'sending', attempts = o.attempts + 1, updated_at = now(),
        locked_until = now() + make_interval(secs => p_lease_seconds)
    where o.id = any (v_ids) and o.status in ('pending', 'sending')
    returning o.*
  )
  select coalesce(jsonb_agg(jsonb_build_object(
    'id', c.id,
    'kind', c.kind,
    'device_id', c.device_id,
    'workspace_id', c.workspace_id,
    'approval_id', c.approval_id,
    'run_id', c.run_id,
    'message', c.message,
    'expires_at', c.expires_at,
    'attempts', c.attempts,
    'created_at', c.created_at,
    'platform', d.platform,
    'provider', d.push_provider,
    'token', d.push_token,
    'token_updated_at', d.push_token_updated_at
  ) order by c.next_attempt_at, c.id), '[]'::jsonb)
  into v_jobs
  from claimed c
  join public.devices d on d.id = c.device_id;

  return v_jobs;
end
$$;

-- Records the outcome of one delivery attempt on its outbox row. p_outcome:
--   {result, provider, http_status?, error?, retry_after?, token?, unregistered_at?}
-- result is one of
--   sent             delivered (status sent)
--   retry            transient: backoff 5 s · 2^(attempts-1) (≤ 1 h, +0–20 % jitter), never
--                    sooner than retry_after; given up 24 h after created_at (failed), or
--                    dropped when the row expires first
--   dead_token       the provider says the token is dead: the device's token is cleared
--                    unless it changed since (APNs: unless push_token_updated_at is later
--                    than unregistered_at), and PUSH_FAILED goes on the timeline; a token
--                    that changed since is kept and the row retried
--   invalid_argument FCM INVALID_ARGUMENT: treated as dead_token only when a message of
--                    the same kind was accepted by FCM before (the message is known
--                    good), else rejected with the token kept
--   config_error     our configuration is wrong (token kept): retried when `retryable`
--                    (fixing the secrets fixes the queue), else failed
--   rejected         the provider refused this message: failed, token kept
--   released         the sender shut down mid-attempt: pending again at once, attempt
--                    not counted
-- Returns {status, outcome, token_cleared}.
create function private.record_push_result(p_id bigint, p_outcome jsonb)
returns jsonb
language plpgsql set search_path = '' as $$
declare
  v_row private.push_outbox;
  v_result text := p_outcome ->> 'result';
  v_http integer := (p_outcome ->> 'http_status')::integer;
  v_error text := left(p_outcome ->> 'error', 1000);
  v_provider text := p_outcome ->> 'provider';
  v_retry_after numeric := (p_outcome ->> 'retry_after')::numeric;
  v_unregistered_at timestamptz := (p_outcome ->> 'unregistered_at')::timestamptz;
  v_cleared boolean := false;
  v_delay numeric;
  v_next timestamptz;
  v_device public.devices;
  v_status text;
  v_outcome text := v_result;
begin
  select * into v_row from private.push_outbox where id = p_id for update;
  if not found or v_row.status <> 'sending' then
    -- settled meanwhile (e.g. by another sweeper after this one's lease ran out)
    return jsonb_build_object('status', v_row.status, 'outcome', 'ignored',
                              'token_cleared', false);
  end if;

  if v_result = 'invalid_argument' then
    if exists (select 1 from private.push_outbox o
               where o.kind = v_row.kind and o.provider = 'fcm' and o.status = 'sent') then
      v_result := 'dead_token';
    else
      v_result := 'rejected';
      v_error := coalesce(v_error, 'INVALID_ARGUMENT') ||
        ' (token kept: no message of this kind was accepted by FCM yet, so the message itself may be at fault)';
    end if;
    v_outcome := 'invalid_argument';
  end if;

  if v_result = 'dead_token' then
    update public.devices d
    set push_token = null, updated_at = now()
    where d.id = v_row.device_id
      and d.push_token is not distinct from (p_outcome ->> 'token')
      and (v_unregistered_at is null or d.push_token_updated_at is null
           or d.push_token_updated_at <= v_unregistered_at)
    returning * into v_device;
    v_cleared := found;
    if v_cleared then
      perform private.append_event(v_row.workspace_id, v_row.run_id, 'PUSH_FAILED',
        jsonb_strip_nulls(jsonb_build_object(
          'device_id', v_row.device_id,
          'provider', v_provider,
          'reason', coalesce(p_outcome ->> 'reason', v_error),
          'http_status', v_http,
          'kind', v_row.kind,
          'approval_id', v_row.approval_id,
          'outbox_id', v_row.id,
          'token_cleared', true)));
      v_status := 'failed';
    else
      -- The device registered another (or a newer) token since: keep it, try again.
      v_result := 'retry';
      v_error := coalesce(v_error, 'dead token') ||
        ' (token kept: the device registered a token after this one was refused)';
    end if;
  end if;

  if v_result = 'config_error' then
    v_result := case when coalesce((p_outcome ->> 'retryable')::boolean, false)
                     then 'retry' else 'failed' end;
  end if;

  if v_result = 'sent' then
    update private.push_outbox
    set status = 'sent', sent_at = now(), locked_until = null, updated_at = now(),
        provider = v_provider, last_outcome = 'sent', last_http_status = v_http,
        last_error = null
    where id = p_id;
    return jsonb_build_object('status', 'sent', 'outcome', 'sent', 'token_cleared', false);
  elsif v_result = 'released' then
    update private.push_outbox
    set status = 'pending', attempts = greatest(attempts - 1, 0), next_attempt_at = now(),
        locked_until = null, updated_at = now(), provider = coalesce(v_provider, provider),
        last_outcome = 'released', last_error = coalesce(v_error, 'the sender shut down mid-attempt')
    where id = p_id;
    return jsonb_build_object('status', 'pending', 'outcome', 'released', 'token_cleared', false);
  elsif v_result = 'retry' then
    v_delay := least(3600, 5 * power(2, least(greatest(v_row.attempts, 1) - 1, 20)))
               * (1 + random() * 0.2);
    if v_retry_after is not null then
      v_delay := greatest(v_delay, least(v_retry_after, 86400));
    end if;
    v_next := now() + make_interval(secs => v_delay);
    if v_row.expires_at is not null and v_next >= v_row.expires_at
       and v_row.expires_at < v_row.created_at + interval '24 hours' then
      v_status := 'dropped';
      v_error := coalesce(v_error, 'retry') || ' (dropped: the notification expires before the next attempt)';
    elsif v_next > v_row.created_at + interval '24 hours' then
      v_status := 'failed';
      v_error := coalesce(v_error, 'retry') || format(' (gave up after %s attempts in 24 h)', v_row.attempts);
    else
      v_status := 'pending';
    end if;
  elsif v_status is null then
    v_status := 'failed'; -- rejected, or a configuration error that retrying cannot fix
  end if;

  update private.push_outbox
  set status = v_status,
      next_attempt_at = case when v_status = 'pending' then v_next else next_attempt_at end,
      locked_until = null, updated_at = now(), provider = coalesce(v_provider, provider),
      last_outcome = v_outcome, last_http_status = v_http, last_error = v_error
  where id = p_id;
  return jsonb_build_object('status', v_status, 'outcome', v_outcome, 'token_cleared', v_cleared);
end
$$;

-- ---------------------------------------------------------------------------
-- The sweep on Supabase: pg_cron calls push-dispatch through pg_net whenever a row is due
-- or a reminder is (the sweep claims it). The function's URL and bearer secret come from
-- Supabase Vault:
--   select vault.create_secret('https://<ref>.supabase.co/functions/v1', 'agentops_functions_url');
--   select vault.create_secret('<PUSH_DISPATCH_SECRET>', 'agentops_push_dispatch_secret');
-- Without them the job does nothing (and says so in the database log).
-- ---------------------------------------------------------------------------
create function private.request_push_dispatch() returns bigint
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

-- The platform migration schedules this sweep (private.install_platform_schedules).
