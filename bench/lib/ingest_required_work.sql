-- The required-work floor of bench/ingest.ts: per event, exactly the durable writes the
-- bridge hardening requires, into copies of their tables (LIKE … INCLUDING ALL: same columns,
-- defaults, unique keys and indexes; no foreign keys): the nonce (unique: a replay fails),
-- both fixed-window rate-limit counters of the workspace (hour and minute) in one upsert, the
-- run locked and its hash chain advanced (seq + 1, the same sha256 over the same text as
-- private.event_hash), the event row with its seq, prev_hash and hash. One statement, in a
-- plpgsql function because that is the cheapest way to send it with postgres.js and
-- prepare: false: the same CTE sent as a statement (or a LANGUAGE sql function) is parsed and
-- planned on every call, 0.59-0.68 against 0.25-0.33 ms of Postgres CPU per event (pgbench
-- -M extended, c=16). Left out, as not durable writes: the secret-version read, the
-- duplicate-id read, the limit comparison, the run's status, message and last_event_at. So it
-- is a lower bound on what any implementation that keeps the hardening costs.
create table bench.req_nonces (like private.bridge_nonces including all);
create table bench.req_rate_limits (like private.rate_limits including all);
create table bench.req_runs (like public.runs including all);
create table bench.req_events (like public.events including all);

create function bench.required_work(
  p_workspace_id uuid, p_run_id uuid, p_nonce text, p_event_id uuid, p_type text,
  p_provider text, p_event_ts timestamptz, p_payload jsonb
) returns void
language plpgsql set search_path = '' as $$
begin
  with nonce as (
    insert into bench.req_nonces (workspace_id, nonce, expires_at)
    values (p_workspace_id, p_nonce, now() + interval '600 seconds')
  ), hits as (
    insert into bench.req_rate_limits (bucket, window_start, hits)
    values ('events:' || p_workspace_id || ':3600', date_trunc('hour', now()), 1),
           ('events:' || p_workspace_id || ':60', date_trunc('minute', now()), 1)
    on conflict (bucket, window_start) do update set hits = bench.req_rate_limits.hits + 1
  ), old as (
    select id, last_seq, last_hash from bench.req_runs where id = p_run_id for update
  ), run as (
    update bench.req_runs r set
      last_seq = old.last_seq + 1,
      last_hash = encode(sha256(convert_to(
        coalesce(old.last_hash, '') || '|' || (old.last_seq + 1)::text || '|' || p_type || '|' ||
        to_char(p_event_ts at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || '|' ||
        to_char(now() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || '|' ||
        p_payload::text, 'UTF8')), 'hex')
    from old where r.id = old.id
    returning r.last_seq, r.last_hash, old.last_hash as prev_hash
  )
  insert into bench.req_events (id, run_id, workspace_id, seq, type, provider, event_ts,
                                created_at, payload, prev_hash, hash)
  select p_event_id, p_run_id, p_workspace_id, run.last_seq, p_type, p_provider, p_event_ts,
         now(), p_payload, run.prev_hash, run.last_hash
  from run;
end
$$;
