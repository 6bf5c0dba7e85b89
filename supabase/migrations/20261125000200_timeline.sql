-- The timeline: runs and their events, with a gap-free seq and a hash chain per run (or
-- per workspace, for events that belong to no run); ingesting a hook runner's event
-- (docs/contract/api.md#bridge-event); retention. Depends on workspaces. Pairing, approvals, push,
-- instructions and rules append to the timeline. Two names here belong to later migrations, which
-- plpgsql resolves when the function runs: private.ingest_event queues the run-ended push
-- (private.enqueue_run_ended_push, push), and private.purge_expired also purges pair tokens
-- (pairing) and the push outbox (push).

-- ---------------------------------------------------------------------------
-- Tables
-- ---------------------------------------------------------------------------
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

alter table public.runs enable row level security;
alter table public.events enable row level security;
revoke all on public.runs, public.events from anon, authenticated;
grant select on public.runs, public.events to authenticated;
create policy runs_paired_select on public.runs for select to authenticated
  using (workspace_id in (select private.user_workspace_ids()));
create policy events_paired_select on public.events for select to authenticated
  using (workspace_id in (select private.user_workspace_ids()));

-- ---------------------------------------------------------------------------
-- The hash chain
-- ---------------------------------------------------------------------------
-- hash = sha256(prev_hash | seq | type | event_ts | created_at | canonical payload), hex.
-- The canonical payload is jsonb's text form (keys ordered, whitespace normalised).
-- plpgsql, as private.ts_text says why.
create function private.event_hash(
  p_prev_hash text, p_seq integer, p_type text, p_event_ts timestamptz,
  p_created_at timestamptz, p_payload jsonb
) returns text
language plpgsql immutable set search_path = '' as $$
begin
  return encode(sha256(convert_to(
    coalesce(p_prev_hash, '') || '|' || p_seq::text || '|' || p_type || '|' ||
    private.ts_text(p_event_ts) || '|' || private.ts_text(p_created_at) || '|' ||
    p_payload::text, 'UTF8')), 'hex');
end
$$;

-- Appends one event to a run's (or, with no run, the workspace's) chain. The row lock on
-- the run serialises concurrent appends, so seq has no gaps and the chain no forks.
create function private.append_event(
  p_workspace_id uuid, p_run_id uuid, p_type text, p_payload jsonb,
  p_event_ts timestamptz default null, p_provider text default null,
  p_event_id uuid default null
) returns public.events
language plpgsql set search_path = '' as $$
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
create function private.verify_event_chain(p_run_id uuid)
returns table (ok boolean, checked integer, first_bad_seq integer, first_bad_event_id uuid,
               reason text)
language plpgsql stable set search_path = '' as $$
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
-- Runs, and ingesting events: one SQL call per bridge-event request consumes the nonce,
-- counts the rate limits, stores the event idempotently on its id, creates the run on its
-- first event and applies the run status rules.
-- ---------------------------------------------------------------------------
-- The run a bridge request names, created by its first event (or approval). A run that
-- belongs to another workspace is a conflict.
create function private.ensure_run(
  p_workspace_id uuid, p_run_id uuid, p_provider text, p_provider_run_id text default null
) returns public.runs
language plpgsql set search_path = '' as $$
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

-- The run status an event asks for; unknown types keep a run RUNNING.
-- (plpgsql, as private.ts_text says why)
create function private.run_status_for_event(p_type text) returns text
language plpgsql immutable set search_path = '' as $$
begin
  return case p_type
    when 'RUN_COMPLETED' then 'COMPLETED'
    when 'RUN_FAILED' then 'FAILED'
    when 'RUN_STOPPED' then 'STOPPED'
    else 'RUNNING'
  end;
end
$$;

create function private.is_terminal_run_status(p_status text) returns boolean
language plpgsql immutable set search_path = '' as $$
begin
  return p_status in ('COMPLETED', 'FAILED', 'STOPPED');
end
$$;

-- The answer to a retry of an event already stored: the stored event's run and that run's
-- current status. An id stored by another workspace (or by the backend, with no run) is
-- a conflict, never another tenant's data.
create function private.duplicate_event_answer(
  p_workspace_id uuid, p_existing public.events
) returns jsonb
language plpgsql stable set search_path = '' as $$
begin
  if p_existing.workspace_id <> p_workspace_id or p_existing.run_id is null then
    perform private.fail('conflict', 'Conflict: event_id is already used by another event');
  end if;
  return jsonb_build_object(
    'event_id', p_existing.id,
    'run_id', p_existing.run_id,
    'run_status', (select r.status from public.runs r where r.id = p_existing.run_id),
    'duplicate', true,
    'pushed', false);
end
$$;

-- p_event is the validated request body ({workspace_id, run_id, provider, event_type,
-- event_ts, payload, event_id?, provider_run_id?}). Returns {event_id, run_id, run_status,
-- duplicate, pushed}; `pushed` says a run-ended notification was queued.
--
-- Order: the nonce first (a replay is refused before anything else); then the run,
-- created by its first event and locked, which serialises concurrent copies of one event
-- so that the duplicate check under the lock is exact; a retry of a stored event answers
-- duplicate: true before the rate limits (the original already paid); then the limits,
-- the event and the run's new state.
--
-- The append is private.append_event's step (same lock on the run row, same
-- private.event_hash, so both writers interleave on one chain) fused with the status
-- update into a single UPDATE of the run: on the hot path that is one row version per
-- event instead of three (measured: ~1.4x the events per second of calling
-- ensure_run + append_event + an UPDATE).
create function private.ingest_event(
  p_workspace_id uuid, p_secret_version integer, p_nonce text, p_event jsonb,
  p_per_minute integer, p_per_hour integer
) returns jsonb
language plpgsql set search_path = '' as $$
declare
  v_event_id uuid := coalesce((p_event ->> 'event_id')::uuid, gen_random_uuid());
  v_run_id uuid := (p_event ->> 'run_id')::uuid;
  v_type text := p_event ->> 'event_type';
  v_payload jsonb := coalesce(p_event -> 'payload', '{}'::jsonb);
  v_event_ts timestamptz := (p_event ->> 'event_ts')::timestamptz;
  v_provider text := p_event ->> 'provider';
  v_now timestamptz := now();
  v_existing public.events;
  v_old public.runs;
  v_run public.runs;
  v_was_terminal boolean;
  v_ends boolean;
  v_status text;
  v_message text;
  v_pushed integer := 0;
begin
  perform private.consume_nonce(p_workspace_id, p_secret_version, p_nonce);

  select * into v_old from public.runs where id = v_run_id for update;
  if not found then
    -- a retry that names another run must not leave an empty run behind
    select * into v_existing from public.events where id = v_event_id;
    if found then
      return private.duplicate_event_answer(p_workspace_id, v_existing);
    end if;
    insert into public.runs (id, workspace_id, provider, provider_run_id)
    values (v_run_id, p_workspace_id, v_provider, p_event ->> 'provider_run_id')
    on conflict (id) do nothing;
    select * into v_old from public.runs where id = v_run_id for update;
  end if;
  if v_old.workspace_id <> p_workspace_id then
    perform private.fail('conflict', 'Conflict: run_id belongs to another workspace');
  end if;

  select * into v_existing from public.events where id = v_event_id;
  if found then
    return private.duplicate_event_answer(p_workspace_id, v_existing);
  end if;

  -- the hour first, so that a client over both limits is told the longer wait
  perform private.hit_rate_limit('events:' || p_workspace_id::text || ':3600', p_per_hour, 3600);
  perform private.hit_rate_limit('events:' || p_workspace_id::text || ':60', p_per_minute, 60);

  -- Terminal runs are never left, and keep the message they ended with.
  v_was_terminal := private.is_terminal_run_status(v_old.status);
  v_status := case when v_was_terminal then v_old.status
                   else private.run_status_for_event(v_type) end;
  v_ends := not v_was_terminal and private.is_terminal_run_status(v_status);
  if jsonb_typeof(v_payload -> 'message') = 'string' then
    v_message := left(v_payload ->> 'message', 500);
  end if;
  update public.runs set
    last_seq = v_old.last_seq + 1,
    last_hash = private.event_hash(v_old.last_hash, v_old.last_seq + 1, v_type, v_event_ts,
                                   v_now, v_payload),
    status = v_status,
    ended_at = case when v_ends then v_now else ended_at end,
    last_event_at = greatest(last_event_at, v_now),
    last_message = case when v_was_terminal or v_message is null then last_message
                        else v_message end,
    provider_run_id = coalesce(provider_run_id, p_event ->> 'provider_run_id')
  where id = v_run_id
  returning * into v_run;

  insert into public.events (id, run_id, workspace_id, seq, type, provider, event_ts,
                             created_at, payload, prev_hash, hash)
  values (v_event_id, v_run_id, p_workspace_id, v_run.last_seq, v_type, v_provider,
          v_event_ts, v_now, v_payload, v_old.last_hash, v_run.last_hash);

  if v_ends then
    v_pushed := private.enqueue_run_ended_push(v_run);
  end if;

  return jsonb_build_object(
    'event_id', v_event_id,
    'run_id', v_run_id,
    'run_status', v_status,
    'duplicate', false,
    'pushed', v_pushed > 0);
end
$$;

-- ---------------------------------------------------------------------------
-- Retention: expired nonces, pair tokens, rate-limit windows and finished outbox rows, and
-- events older than p_event_retention_days when given. Deleting single old events would
-- cut the head off a run's hash chain, and private.verify_event_chain would then report a
-- tampered run. So events go a whole run at a time: a run whose last event is older than
-- the retention period is deleted with its events and approvals; events of no run (the
-- workspace-level chain) go by their own age. The local server calls it on a timer
-- (supabase/functions/_shared/maintenance.ts); on the platform, pg_cron does (below, and
-- private.install_platform_schedules in the platform migration).
-- ---------------------------------------------------------------------------
create function private.purge_expired(p_event_retention_days integer default null)
returns jsonb
language plpgsql set search_path = '' as $$
declare
  v_nonces integer;
  v_tokens integer;
  v_windows integer;
  v_outbox integer;
  v_runs integer := 0;
  v_events integer := 0;
  v_ws_events integer := 0;
  v_cutoff timestamptz;
begin
  delete from private.bridge_nonces where expires_at < now();
  get diagnostics v_nonces = row_count;
  delete from private.pair_tokens where expires_at < now() - interval '1 day';
  get diagnostics v_tokens = row_count;
  delete from private.rate_limits where window_start < now() - interval '2 hours';
  get diagnostics v_windows = row_count;
  delete from private.push_outbox
  where status in ('sent', 'failed', 'dropped') and updated_at < now() - interval '7 days';
  get diagnostics v_outbox = row_count;
  if p_event_retention_days is not null and p_event_retention_days > 0 then
    v_cutoff := now() - make_interval(days => p_event_retention_days);
    with old_runs as (
      delete from public.runs where last_event_at < v_cutoff returning id, last_seq
    )
    select count(*), coalesce(sum(last_seq), 0) into v_runs, v_events from old_runs;
    delete from public.events where run_id is null and created_at < v_cutoff;
    get diagnostics v_ws_events = row_count;
  end if;
  return jsonb_build_object('nonces', v_nonces, 'pair_tokens', v_tokens,
    'rate_limit_windows', v_windows, 'push_outbox', v_outbox, 'runs', v_runs,
    'events', v_events + v_ws_events);
end
$$;
