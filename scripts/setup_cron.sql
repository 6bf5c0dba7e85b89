-- The sweeps on a hosted Supabase project (docs/deploy.md, step 5): pg_cron calls
-- push-dispatch through pg_net every 10 seconds (only when an outbox row is due) with the
-- bearer secret from Vault, and runs the retention job every 10 minutes.
--
-- Run it once after `supabase db push`, and again to change a value; it is idempotent.
-- Replace the three values marked EDIT, then either paste it into the dashboard's SQL
-- editor or run:  psql "$SUPABASE_DB_URL" -v ON_ERROR_STOP=1 -f scripts/setup_cron.sql
-- tests/platform/cron_sweeps_test.ts runs this very file against stand-ins of cron, net
-- and vault.

-- 1. The extensions (Dashboard → Database → Extensions does the same).
create extension if not exists pg_cron;
create extension if not exists pg_net with schema extensions;

-- 2. Where push-dispatch is and the bearer secret it expects (PUSH_DISPATCH_SECRET, set
--    with `supabase secrets set`), kept in Vault rather than in the job's command text.
do $$
declare
  v_url text := 'https://<project-ref>.supabase.co/functions/v1'; -- EDIT
  v_secret text := '<PUSH_DISPATCH_SECRET>'; -- EDIT: the same value as the function secret
  v_name text;
  v_value text;
  v_id uuid;
begin
  if v_url like '%<project-ref>%' or v_secret = '<PUSH_DISPATCH_SECRET>' then
    raise exception 'Cannot set up the sweeps: edit the project URL and PUSH_DISPATCH_SECRET in scripts/setup_cron.sql first';
  end if;
  for v_name, v_value in
    select * from (values ('agentops_functions_url', v_url),
                          ('agentops_push_dispatch_secret', v_secret)) s(name, value)
  loop
    select id into v_id from vault.secrets where name = v_name;
    if v_id is null then
      perform vault.create_secret(v_value, v_name);
    else
      perform vault.update_secret(v_id, v_value);
    end if;
  end loop;
end
$$;

-- 3. The two jobs. EDIT: the events retention in days (EVENT_RETENTION_DAYS), or null to
--    keep events forever (nonces, pair tokens, rate-limit windows and delivered outbox
--    rows are purged either way).
select private.install_platform_schedules(p_event_retention_days => null);

-- What is scheduled now:
select jobname, schedule, command from cron.job where jobname like 'agentops-%' order by jobname;
