-- Run events (SPEC section 4, endpoint 4): one SQL call per bridge-event request that
-- consumes the nonce, counts the rate limits, stores the event idempotently on its id,
-- creates the run on its first event and applies the run status rules.

-- The run status an event asks for; unknown types keep a run RUNNING.
create or replace function private.run_status_for_event(p_type text) returns text
language sql immutable as $$
  select case p_type
    when 'RUN_COMPLETED' then 'COMPLETED'
    when 'RUN_FAILED' then 'FAILED'
    when 'RUN_STOPPED' then 'STOPPED'
    else 'RUNNING'
  end
$$;

create or replace function private.is_terminal_run_status(p_status text) returns boolean
language sql immutable as $$
  select p_status in ('COMPLETED', 'FAILED', 'STOPPED')
$$;

-- The answer to a retry of an event already stored: the stored event's run and that run's
-- current status. An id stored by another workspace (or by the backend, with no run) is
-- a conflict, never another tenant's data.
create or replace function private.duplicate_event_answer(
  p_workspace_id uuid, p_existing public.events
) returns jsonb
language plpgsql stable as $$
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
create or replace function private.ingest_event(
  p_workspace_id uuid, p_secret_version integer, p_nonce text, p_event jsonb,
  p_per_minute integer, p_per_hour integer
) returns jsonb
language plpgsql as $$
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
  if jsonb_typeof(v_payload -> 'message') = 'string' then
    v_message := left(v_payload ->> 'message', 500);
  end if;
  update public.runs set
    last_seq = v_old.last_seq + 1,
    last_hash = private.event_hash(v_old.last_hash, v_old.last_seq + 1, v_type, v_event_ts,
                                   v_now, v_payload),
    status = v_status,
    ended_at = case when not v_was_terminal and private.is_terminal_run_status(v_status)
                    then v_now else ended_at end,
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

  if not v_was_terminal and private.is_terminal_run_status(v_status) then
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
-- Retention (replaces the core version). Deleting single old events would cut the head
-- off a run's hash chain, and private.verify_event_chain would then report a tampered
-- run. So events go a whole run at a time: a run whose last event is older than the
-- retention period is deleted with its events and approvals; events of no run (the
-- workspace-level chain) go by their own age.
-- ---------------------------------------------------------------------------
create or replace function private.purge_expired(p_event_retention_days integer default null)
returns jsonb
language plpgsql as $$
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

-- ---------------------------------------------------------------------------
-- Clients write nothing: the private schema's functions are the server's, not the
-- API's. `authenticated` has usage on the schema (its RLS policies call
-- private.user_workspace_ids), so without this it could execute every function in it
-- (table privileges would still refuse the writes; this refuses the call).
-- ---------------------------------------------------------------------------
revoke execute on all functions in schema private from public, anon, authenticated;
grant execute on function private.user_workspace_ids() to authenticated;
