-- Foundation: the `private` schema, the default privileges every later function is created
-- under, and the helpers every state change uses (errors, timestamps as text, rate
-- limits). Every other migration depends on this one; it depends only on what Supabase's
-- Postgres already has (on the local stack, scripts/bootstrap.sql).
--
-- One migration per capability, each after those it depends on: foundation, workspaces,
-- timeline, pairing, approvals, push, notifications, instructions, rules, platform. Nothing
-- has been deployed yet, so these files may be rewritten until the first release; never
-- after it (README).

-- The server's schema: the Data API does not expose it and no client has a table grant in
-- it (authenticated gets usage for its RLS policies: the workspaces migration).
create schema if not exists private;
revoke all on schema private from public;

-- ---------------------------------------------------------------------------
-- Closed by default, set once before any function exists. Postgres lets PUBLIC execute
-- every new function unless told otherwise, and that default can only be withdrawn
-- globally (a per-schema REVOKE only undoes a per-schema GRANT): so, for functions this
-- role creates from now on, nowhere. In `public` (exposed as RPC by the Data API) Supabase
-- grants new functions to anon, authenticated and service_role per schema; withdrawn too.
-- A function a client may call is granted by name, beside it (only
-- private.user_workspace_ids(), to authenticated). Every function also fixes an empty
-- search_path (it names every object with its schema), so no caller's search_path can
-- swap an object under it. tests/grants_test.ts checks all of this, and that Supabase's
-- linter (`supabase db advisors --level warn`) reports nothing.
-- ---------------------------------------------------------------------------
alter default privileges revoke execute on functions from public;
alter default privileges in schema public revoke execute on functions
  from anon, authenticated, service_role;

-- ---------------------------------------------------------------------------
-- Errors. A refused request raises; the message is the API error code, the detail the
-- human message and the hint optional JSON details. Everything the transaction did is
-- rolled back, so a refused request writes nothing (and leaves its nonce unused).
-- ---------------------------------------------------------------------------
create function private.fail(p_code text, p_message text, p_details jsonb default null)
returns void
language plpgsql set search_path = '' as $$
begin
  raise exception using
    errcode = 'AOERR',
    message = p_code,
    detail = p_message,
    hint = coalesce(p_details::text, '');
end
$$;

-- Timestamps in bodies and in event hashes: UTC with microseconds, whatever the session's
-- TimeZone.
--
-- The small helpers here and in the timeline are plpgsql, not LANGUAGE sql: a sql function
-- with `set search_path` is never inlined, and one called from plpgsql is parsed and planned
-- again in every transaction (15-20 us a call, measured with pg_stat_user_functions under
-- the ingest load), where plpgsql keeps its compiled body and plans for the session (2-4 us).
create function private.ts_text(p_ts timestamptz) returns text
language plpgsql immutable set search_path = '' as $$
begin
  return to_char(p_ts at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');
end
$$;

-- ---------------------------------------------------------------------------
-- Rate limits: a fixed window per bucket, counted in the request's own transaction.
-- ---------------------------------------------------------------------------
create table private.rate_limits (
  bucket text not null,
  window_start timestamptz not null,
  hits integer not null,
  primary key (bucket, window_start)
);
create index rate_limits_window_idx on private.rate_limits (window_start);

-- Counts one hit in a fixed window; refuses past the limit with the seconds to wait.
create function private.hit_rate_limit(
  p_bucket text, p_limit integer, p_window_seconds integer
) returns void
language plpgsql set search_path = '' as $$
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
