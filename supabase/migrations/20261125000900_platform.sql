-- What a hosted Supabase project adds to the local stack (issue 19): Realtime broadcasts
-- for the phone, and the pg_cron + pg_net + Vault sweeps. Everything here is installed
-- only where the platform's pieces exist (the `realtime` schema, pg_cron), so this
-- migration runs unchanged on the local stack, where the tests call the install functions
-- against stand-ins they create (tests/platform/). Last: it installs over the tables of
-- every migration before it (a later migration that adds a table to broadcast calls
-- private.install_realtime_broadcasts() again).

-- ---------------------------------------------------------------------------
-- Realtime: private broadcast topics `workspace:<id>` carry every change the phone needs.
-- Postgres Changes sends a delete to every subscriber of a table without applying RLS
-- (only the primary key, but another tenant's), so the project's tables stay out of the
-- supabase_realtime publication and the phone subscribes to the broadcasts instead
-- (docs/realtime.md).
-- ---------------------------------------------------------------------------

-- Which tables broadcast which operations. events are append-only (deleted only by the
-- retention job, one message per purged row would flood the topic, and the phone ages its
-- cache out itself); runs, approvals, instructions, pairings and rules send every change.
-- A table added later joins by adding a row here and calling the install function again.
create function private.realtime_broadcast_tables()
returns table (table_name text, operations text)
language sql immutable set search_path = '' as $$
  values ('runs', 'insert or update or delete'),
         ('events', 'insert or update'),
         ('approvals', 'insert or update or delete'),
         ('run_instructions', 'insert or update or delete'),
         ('workspace_devices', 'insert or update or delete'),
         ('rules', 'insert or update or delete')
$$;

-- Creates (again) the broadcast triggers and the realtime.messages policy where Supabase's
-- Realtime is installed; returns the tables that broadcast. Idempotent: a later migration
-- calls it again after adding a table.
create function private.install_realtime_broadcasts()
returns text[]
language plpgsql set search_path = '' as $$
declare
  v_table record;
  v_installed text[] := '{}';
begin
  -- The project's tables leave Postgres Changes (see above), wherever they were added.
  for v_table in
    select pt.tablename from pg_catalog.pg_publication_tables pt
    where pt.pubname = 'supabase_realtime' and pt.schemaname = 'public'
      and pt.tablename in (select t.table_name from private.realtime_broadcast_tables() t)
  loop
    execute format('alter publication supabase_realtime drop table public.%I', v_table.tablename);
  end loop;

  if pg_catalog.to_regprocedure(
       'realtime.broadcast_changes(text, text, text, text, text, record, record, text)'
     ) is null then
    return v_installed;
  end if;

  for v_table in select t.table_name, t.operations from private.realtime_broadcast_tables() t loop
    if pg_catalog.to_regclass('public.' || v_table.table_name) is null then
      continue;
    end if;
    execute format('drop trigger if exists %I on public.%I',
                   v_table.table_name || '_broadcast', v_table.table_name);
    execute format(
      'create trigger %I after %s on public.%I for each row '
      'execute function private.broadcast_workspace_change()',
      v_table.table_name || '_broadcast', v_table.operations, v_table.table_name);
    v_installed := v_installed || v_table.table_name;
  end loop;

  if pg_catalog.to_regclass('realtime.messages') is not null then
    -- Supabase's shape for Realtime Authorization: a SELECT policy on realtime.messages
    -- decides who may join a private channel, realtime.topic() naming the channel. Only a
    -- user with a device paired to that workspace joins; nobody may send on it (no INSERT
    -- policy: only these triggers broadcast), and presence is not offered.
    execute 'drop policy if exists workspace_topic_members on realtime.messages';
    execute $p$
      create policy workspace_topic_members on realtime.messages for select
        to authenticated
        using (
          realtime.messages.extension = 'broadcast'
          and exists (
            select 1 from private.user_workspace_ids() w
            where 'workspace:' || w::text = (select realtime.topic())
          )
        )$p$;
  end if;
  return v_installed;
end
$$;

-- The trigger function: one message per row change on the row's workspace topic, in
-- Supabase's broadcast_changes shape (event = INSERT/UPDATE/DELETE; payload {schema, table,
-- operation, record, old_record}). security definer: the writer (a SQL function of the
-- API, the retention job) need not reach the realtime schema itself.
create function private.broadcast_workspace_change() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  perform realtime.broadcast_changes(
    'workspace:' || coalesce(new.workspace_id, old.workspace_id)::text,
    tg_op, tg_op, tg_table_name, tg_table_schema, new, old
  );
  return null;
end
$$;

select private.install_realtime_broadcasts();

-- ---------------------------------------------------------------------------
-- Sweeps on the platform: pg_cron runs the push sweep (pg_net posts to push-dispatch with
-- the bearer secret from Vault, private.request_push_dispatch() of the push migration) and
-- the retention job (private.purge_expired() of the timeline migration). Installed where
-- cron.schedule() exists (pg_cron enabled); re-run it after enabling the extensions or to
-- change the retention (scripts/setup_cron.sql):
--   select private.install_platform_schedules(p_event_retention_days => 30);
-- ---------------------------------------------------------------------------
create function private.install_platform_schedules(
  p_event_retention_days integer default null
) returns jsonb
language plpgsql set search_path = '' as $$
declare
  v_push text;
  v_retention text := format('select private.purge_expired(%s)',
                             coalesce(p_event_retention_days::text, 'null'));
begin
  if p_event_retention_days is not null and p_event_retention_days < 1 then
    raise exception 'Cannot schedule the retention job: EVENT_RETENTION_DAYS must be at least 1, not %',
      p_event_retention_days;
  end if;
  if pg_catalog.to_regprocedure('cron.schedule(text, text, text)') is null then
    return jsonb_build_object('skipped', 'pg_cron is not installed (cron.schedule is missing)');
  end if;
  -- Every 10 seconds where pg_cron knows second intervals (1.5+; Supabase's does), else
  -- every minute. The job only posts when an outbox row is due, so most runs are one query.
  begin
    perform cron.schedule('agentops-push-dispatch', '10 seconds',
                          'select private.request_push_dispatch()');
    v_push := '10 seconds';
  exception when others then
    perform cron.schedule('agentops-push-dispatch', '* * * * *',
                          'select private.request_push_dispatch()');
    v_push := '* * * * *';
  end;
  -- Nonces, pair tokens, rate-limit windows and old outbox rows every 10 minutes, as the
  -- local server's timer does; events too when EVENT_RETENTION_DAYS is given.
  perform cron.schedule('agentops-retention', '*/10 * * * *', v_retention);
  return jsonb_build_object(
    'agentops-push-dispatch', v_push,
    'agentops-retention', v_retention,
    'net', pg_catalog.to_regprocedure('net.http_post(text, jsonb, jsonb, jsonb, integer)') is not null,
    'vault', pg_catalog.to_regclass('vault.decrypted_secrets') is not null
  );
end
$$;

select private.install_platform_schedules();
