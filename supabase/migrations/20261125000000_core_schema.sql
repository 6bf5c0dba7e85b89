-- AgentOps core schema: tables, indexes, RLS, and the helpers every state change uses.
-- Runs unchanged on hosted Supabase and on the local stand-in (scripts/bootstrap.sql).

create schema if not exists private;
revoke all on schema private from public;

-- ---------------------------------------------------------------------------
-- Errors. A refused request raises; the message is the API error code, the detail the
-- human message and the hint optional JSON details. Everything the transaction did is
-- rolled back, so a refused request writes nothing (and leaves its nonce unused).
-- ---------------------------------------------------------------------------
create or replace function private.fail(p_code text, p_message text, p_details jsonb default null)
returns void
language plpgsql as $$
begin
  raise exception using
    errcode = 'AOERR',
    message = p_code,
    detail = p_message,
    hint = coalesce(p_details::text, '');
end
$$;

-- ---------------------------------------------------------------------------
-- Tables
-- ---------------------------------------------------------------------------
create table public.devices (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null,
  platform text not null check (platform in ('ios', 'android')),
  push_provider text not null default 'fcm' check (push_provider in ('fcm', 'apns')),
  push_token text,
  push_token_updated_at timestamptz,
  device_name text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index devices_user_id_idx on public.devices (user_id);

create table public.workspaces (
  id uuid primary key default gen_random_uuid(),
  display_name text not null,
  -- workspace-level timeline chain (events with no run, e.g. DEVICE_PAIRED)
  last_seq integer not null default 0,
  last_hash text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

-- What identifies a workspace's machine and project, and which bridge secret is current:
-- the server's alone. SPEC section 5 puts these columns on workspaces; they live here, in
-- `private` (which the Data API does not expose and no client has a table grant in), so
-- that a co-paired user can `select *` from workspaces without learning them (they were
-- once all pair-start needed to take a workspace over) and without column-level grants.
create table private.workspace_keys (
  workspace_id uuid primary key references public.workspaces (id) on delete cascade,
  machine_id text not null,
  project_fingerprint text not null,
  secret_version integer not null default 1
);
-- pair-start's re-pair check. Not unique: the same machine and project get a new
-- workspace whenever they pair without proof of the current secret, so knowing the two
-- identifiers is never enough.
create index workspace_keys_machine_project_idx
  on private.workspace_keys (machine_id, project_fingerprint);

create table public.workspace_devices (
  workspace_id uuid not null references public.workspaces (id) on delete cascade,
  device_id uuid not null references public.devices (id) on delete cascade,
  paired_at timestamptz not null default now(),
  primary key (workspace_id, device_id)
);
create index workspace_devices_device_idx on public.workspace_devices (device_id);

create table public.runs (
  id uuid primary key,
  workspace_id uuid not null references public.workspaces (id) on delete cascade,
  provider text not null,
  provider_run_id text,
  status text not null default 'RUNNING'
    check (status in ('RUNNING', 'COMPLETED', 'FAILED', 'STOPPED')),
  started_at timestamptz not null default now(),
  ended_at timestamptz,
  last_event_at timestamptz not null default now(),
  last_message text,
  meta jsonb not null default '{}',
  last_seq integer not null default 0,
  last_hash text,
  created_at timestamptz not null default now()
);
-- the phone's "recent runs of a workspace"
create index runs_workspace_recent_idx on public.runs (workspace_id, last_event_at desc);

create table public.events (
  id uuid primary key,
  run_id uuid references public.runs (id) on delete cascade,
  workspace_id uuid not null references public.workspaces (id) on delete cascade,
  seq integer not null,
  type text not null,
  provider text,
  event_ts timestamptz not null,
  created_at timestamptz not null default now(),
  payload jsonb not null default '{}',
  prev_hash text,
  hash text not null
);
-- a run's timeline (newest N, or "after seq N") is one index range scan
create unique index events_run_seq_idx on public.events (run_id, seq) where run_id is not null;
create unique index events_workspace_seq_idx on public.events (workspace_id, seq) where run_id is null;
create index events_created_at_idx on public.events (created_at);

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
  unique (workspace_id, request_key)
);
create index approvals_pending_idx on public.approvals (workspace_id, requested_at desc)
  where status = 'PENDING';
create index approvals_run_idx on public.approvals (run_id, requested_at);

create table private.pair_tokens (
  token_hash text primary key,
  workspace_id uuid not null references public.workspaces (id) on delete cascade,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  used_at timestamptz
);
create index pair_tokens_expires_idx on private.pair_tokens (expires_at);

create table private.bridge_nonces (
  workspace_id uuid not null,
  nonce text not null,
  expires_at timestamptz not null,
  primary key (workspace_id, nonce)
);
create index bridge_nonces_expires_idx on private.bridge_nonces (expires_at);

create table private.rate_limits (
  bucket text not null,
  window_start timestamptz not null,
  hits integer not null,
  primary key (bucket, window_start)
);
create index rate_limits_window_idx on private.rate_limits (window_start);

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
  sent_at timestamptz
);
create index push_outbox_due_idx on private.push_outbox (next_attempt_at)
  where status in ('pending', 'sending');
create index push_outbox_approval_idx on private.push_outbox (approval_id)
  where approval_id is not null;

-- ---------------------------------------------------------------------------
-- Grants and row level security: clients read their own rows, write nothing.
-- ---------------------------------------------------------------------------
alter table public.devices enable row level security;
alter table public.workspaces enable row level security;
alter table public.workspace_devices enable row level security;
alter table public.runs enable row level security;
alter table public.events enable row level security;
alter table public.approvals enable row level security;

revoke all on public.devices, public.workspaces, public.workspace_devices, public.runs,
  public.events, public.approvals from anon, authenticated;
-- The whole of workspaces: what identifies a machine is in private.workspace_keys.
grant select on public.devices, public.workspaces, public.workspace_devices, public.runs,
  public.events, public.approvals to authenticated;
revoke all on private.workspace_keys from public, anon, authenticated, service_role;

-- The workspaces the calling user's devices are paired with. Security definer so that
-- policies do not recurse through each other's RLS; in `private`, which the API does not
-- expose. It takes no user id: it answers only for auth.uid(), never for anyone else.
create or replace function private.user_workspace_ids()
returns setof uuid
language sql stable security definer set search_path = '' as $$
  select wd.workspace_id
  from public.workspace_devices wd
  join public.devices d on d.id = wd.device_id
  where d.user_id = (select auth.uid())
$$;
revoke all on function private.user_workspace_ids() from public;
grant usage on schema private to authenticated;
grant execute on function private.user_workspace_ids() to authenticated;

create policy devices_owner_select on public.devices for select to authenticated
  using (user_id = (select auth.uid()));
create policy workspace_devices_owner_select on public.workspace_devices for select
  to authenticated
  using (device_id in (select d.id from public.devices d where d.user_id = (select auth.uid())));
create policy workspaces_paired_select on public.workspaces for select to authenticated
  using (id in (select private.user_workspace_ids()));
create policy runs_paired_select on public.runs for select to authenticated
  using (workspace_id in (select private.user_workspace_ids()));
create policy events_paired_select on public.events for select to authenticated
  using (workspace_id in (select private.user_workspace_ids()));
create policy approvals_paired_select on public.approvals for select to authenticated
  using (workspace_id in (select private.user_workspace_ids()));

-- A deleted user's devices go with them (no foreign key to auth.users: the local stack's
-- tokens name users it never stored).
create or replace function private.delete_user_devices() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  delete from public.devices where user_id = old.id;
  return old;
end
$$;
create trigger on_auth_user_deleted after delete on auth.users
  for each row execute function private.delete_user_devices();

-- ---------------------------------------------------------------------------
-- Realtime: the phone subscribes to its workspaces' runs, events and approvals.
-- ---------------------------------------------------------------------------
do $$
begin
  if exists (select 1 from pg_publication where pubname = 'supabase_realtime') then
    alter publication supabase_realtime add table public.runs, public.events, public.approvals;
  end if;
end
$$;

create or replace function private.broadcast_workspace_change() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  perform realtime.broadcast_changes(
    'workspace:' || coalesce(new.workspace_id, old.workspace_id)::text,
    tg_op, tg_op, tg_table_name, tg_table_schema, new, old
  );
  return null;
end
$$;

do $$
begin
  if exists (select 1 from pg_namespace where nspname = 'realtime')
     and exists (select 1 from pg_proc p join pg_namespace n on n.oid = p.pronamespace
                 where n.nspname = 'realtime' and p.proname = 'broadcast_changes') then
    execute 'create trigger runs_broadcast after insert or update or delete on public.runs
             for each row execute function private.broadcast_workspace_change()';
    execute 'create trigger events_broadcast after insert or update or delete on public.events
             for each row execute function private.broadcast_workspace_change()';
    execute 'create trigger approvals_broadcast after insert or update or delete on public.approvals
             for each row execute function private.broadcast_workspace_change()';
    execute $p$create policy workspace_topic_members on realtime.messages for select
      to authenticated
      using (
        realtime.topic() like 'workspace:%'
        and split_part(realtime.topic(), ':', 2) in (
          select w::text from private.user_workspace_ids() w
        )
      )$p$;
  end if;
end
$$;

-- ---------------------------------------------------------------------------
-- Request guards: nonce and rate limit, consumed in the request's own transaction.
-- ---------------------------------------------------------------------------

-- Records a bridge request's nonce; refuses a replay within 600 s and a secret that was
-- rotated between the signature check and this write.
create or replace function private.consume_nonce(
  p_workspace_id uuid, p_secret_version integer, p_nonce text
) returns void
language plpgsql as $$
declare
  v_version integer;
begin
  select k.secret_version into v_version from private.workspace_keys k
  where k.workspace_id = p_workspace_id;
  if v_version is null or v_version <> p_secret_version then
    perform private.fail('unauthorized', 'Cannot verify request: the bridge secret was rotated');
  end if;
  insert into private.bridge_nonces (workspace_id, nonce, expires_at)
  values (p_workspace_id, p_nonce, now() + interval '600 seconds')
  on conflict (workspace_id, nonce) do update
    set expires_at = excluded.expires_at
    where private.bridge_nonces.expires_at < now();
  if not found then
    perform private.fail('replayed_nonce', 'Cannot accept request: nonce already used');
  end if;
end
$$;

-- Counts one hit in a fixed window; refuses past the limit with the seconds to wait.
create or replace function private.hit_rate_limit(
  p_bucket text, p_limit integer, p_window_seconds integer
) returns void
language plpgsql as $$
declare
  v_window timestamptz := to_timestamp(
    floor(extract(epoch from now()) / p_window_seconds) * p_window_seconds);
  v_hits integer;
  v_retry integer;
begin
  insert into private.rate_limits (bucket, window_start, hits)
  values (p_bucket, v_window, 1)
  on conflict (bucket, window_start) do update set hits = private.rate_limits.hits + 1
  returning hits into v_hits;
  if v_hits > p_limit then
    v_retry := greatest(1, ceil(extract(epoch from (v_window + make_interval(secs => p_window_seconds) - now())))::integer);
    perform private.fail('rate_limited',
      format('Too many requests: limit is %s per %s s', p_limit, p_window_seconds),
      jsonb_build_object('retry_after', v_retry));
  end if;
end
$$;

-- ---------------------------------------------------------------------------
-- The timeline: gap-free seq and a hash chain per run (or per workspace for events
-- that belong to no run).
-- ---------------------------------------------------------------------------
create or replace function private.ts_text(p_ts timestamptz) returns text
language sql immutable as $$
  select to_char(p_ts at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;

-- hash = sha256(prev_hash | seq | type | event_ts | created_at | canonical payload), hex.
-- The canonical payload is jsonb's text form (keys ordered, whitespace normalised).
create or replace function private.event_hash(
  p_prev_hash text, p_seq integer, p_type text, p_event_ts timestamptz,
  p_created_at timestamptz, p_payload jsonb
) returns text
language sql immutable as $$
  select encode(sha256(convert_to(
    coalesce(p_prev_hash, '') || '|' || p_seq::text || '|' || p_type || '|' ||
    private.ts_text(p_event_ts) || '|' || private.ts_text(p_created_at) || '|' ||
    p_payload::text, 'UTF8')), 'hex')
$$;

-- Appends one event to a run's (or, with no run, the workspace's) chain. The row lock on
-- the run serialises concurrent appends, so seq has no gaps and the chain no forks.
create or replace function private.append_event(
  p_workspace_id uuid, p_run_id uuid, p_type text, p_payload jsonb,
  p_event_ts timestamptz default null, p_provider text default null,
  p_event_id uuid default null
) returns public.events
language plpgsql as $$
declare
  v_seq integer;
  v_prev text;
  v_event public.events;
  v_now timestamptz := now();
  v_ts timestamptz := coalesce(p_event_ts, now());
begin
  if p_run_id is not null then
    update public.runs set last_seq = last_seq + 1
    where id = p_run_id
    returning last_seq, last_hash into v_seq, v_prev;
  else
    update public.workspaces set last_seq = last_seq + 1
    where id = p_workspace_id
    returning last_seq, last_hash into v_seq, v_prev;
  end if;
  insert into public.events (id, run_id, workspace_id, seq, type, provider, event_ts,
                             created_at, payload, prev_hash, hash)
  values (coalesce(p_event_id, gen_random_uuid()), p_run_id, p_workspace_id, v_seq, p_type,
          p_provider, v_ts, v_now, coalesce(p_payload, '{}'), v_prev,
          private.event_hash(v_prev, v_seq, p_type, v_ts, v_now, coalesce(p_payload, '{}')))
  returning * into v_event;
  if p_run_id is not null then
    update public.runs set last_hash = v_event.hash where id = p_run_id;
  else
    update public.workspaces set last_hash = v_event.hash where id = p_workspace_id;
  end if;
  return v_event;
end
$$;

-- Recomputes a run's chain; names the first row that does not match.
create or replace function private.verify_event_chain(p_run_id uuid)
returns table (ok boolean, checked integer, first_bad_seq integer, first_bad_event_id uuid,
               reason text)
language plpgsql stable as $$
declare
  v_prev text := null;
  v_expected_seq integer := 1;
  v_count integer := 0;
  r public.events;
begin
  for r in select * from public.events e where e.run_id = p_run_id order by e.seq loop
    v_count := v_count + 1;
    if r.seq <> v_expected_seq then
      return query select false, v_count, r.seq, r.id, format('seq %s follows %s', r.seq, v_expected_seq - 1);
      return;
    end if;
    if r.prev_hash is distinct from v_prev then
      return query select false, v_count, r.seq, r.id, 'prev_hash does not match the previous row';
      return;
    end if;
    if r.hash <> private.event_hash(v_prev, r.seq, r.type, r.event_ts, r.created_at, r.payload) then
      return query select false, v_count, r.seq, r.id, 'hash does not match the row';
      return;
    end if;
    v_prev := r.hash;
    v_expected_seq := v_expected_seq + 1;
  end loop;
  return query select true, v_count, null::integer, null::uuid, null::text;
end
$$;

-- ---------------------------------------------------------------------------
-- Push outbox: one row per device per notification, written in the request's
-- transaction; delivered after the response and by the sweep.
-- ---------------------------------------------------------------------------
create or replace function private.enqueue_push(
  p_workspace_id uuid, p_kind text, p_message jsonb, p_approval_id uuid default null,
  p_run_id uuid default null, p_expires_at timestamptz default null,
  p_except_device_id uuid default null
) returns integer
language plpgsql as $$
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
  if v_count > 0 then
    perform pg_notify('push_outbox', p_workspace_id::text);
  end if;
  return v_count;
end
$$;

-- ---------------------------------------------------------------------------
-- Retention: expired nonces, pair tokens, rate-limit windows, finished outbox rows,
-- and events older than p_event_retention_days when given.
-- ---------------------------------------------------------------------------
-- private.purge_expired() is defined in 20261125000200_events.sql (it deletes whole runs,
-- so the chains that remain still verify).

do $$
begin
  if exists (select 1 from pg_extension where extname = 'pg_cron') then
    perform cron.schedule('agentops-purge-expired', '*/10 * * * *',
      'select private.purge_expired()');
  end if;
end
$$;

-- ---------------------------------------------------------------------------
-- Runs and the notifications they cause.
-- ---------------------------------------------------------------------------

-- The run a bridge request names, created by its first event (or approval). A run that
-- belongs to another workspace is a conflict.
create or replace function private.ensure_run(
  p_workspace_id uuid, p_run_id uuid, p_provider text, p_provider_run_id text default null
) returns public.runs
language plpgsql as $$
declare
  v_run public.runs;
begin
  insert into public.runs (id, workspace_id, provider, provider_run_id)
  values (p_run_id, p_workspace_id, coalesce(p_provider, 'unknown'), p_provider_run_id)
  on conflict (id) do nothing;
  select * into v_run from public.runs where id = p_run_id;
  if v_run.workspace_id <> p_workspace_id then
    perform private.fail('conflict', 'Conflict: run_id belongs to another workspace');
  end if;
  return v_run;
end
$$;

-- SPEC section 6 content: "<display_name> · run completed|failed|stopped", body last_message.
create or replace function private.enqueue_run_ended_push(p_run public.runs) returns integer
language sql as $$
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

-- SPEC section 6 content: "Approval needed · <display_name>", body the command (≤ 200
-- chars), time-sensitive, category AGENTOPS_APPROVAL, collapse id = approval id, expiring
-- at expires_at.
create or replace function private.enqueue_approval_push(p_approval public.approvals)
returns integer
language sql as $$
  select private.enqueue_push(
    p_approval.workspace_id,
    'approval',
    jsonb_build_object(
      'title', 'Approval needed · ' || (select w.display_name from public.workspaces w
                                        where w.id = p_approval.workspace_id),
      'body', case when char_length(p_approval.command) > 200
                   then left(p_approval.command, 199) || '…' else p_approval.command end,
      'data', jsonb_build_object('type', 'approval', 'approval_id', p_approval.id,
                                 'run_id', p_approval.run_id,
                                 'workspace_id', p_approval.workspace_id,
                                 'expires_at', p_approval.expires_at),
      'collapse_id', p_approval.id::text,
      'category', 'AGENTOPS_APPROVAL',
      'time_sensitive', true,
      'priority', 'high'
    ),
    p_approval.id, p_approval.run_id, p_approval.expires_at, null)
$$;

-- A silent push to the workspace's other devices that clears the approval's notification.
create or replace function private.enqueue_approval_clear_push(
  p_approval public.approvals, p_except_device_id uuid
) returns integer
language sql as $$
  select private.enqueue_push(
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
    p_approval.id, p_approval.run_id, now() + interval '1 hour', p_except_device_id)
$$;
