-- Hardening (runs after every other migration): what clients and other database logins may
-- call, and a fixed search_path on every function. Supabase's linter
-- (`supabase db advisors --level warn`) reports nothing on the result; tests/grants_test.ts
-- checks both that and the grants themselves.

-- ---------------------------------------------------------------------------
-- Closed by default. Postgres lets PUBLIC execute every new function unless told
-- otherwise, and that default can only be withdrawn globally (a per-schema REVOKE only
-- undoes a per-schema GRANT): so, for functions this role creates from now on, nowhere.
-- In `public` (exposed as RPC by the Data API) Supabase grants new functions to anon,
-- authenticated and service_role per schema; withdrawn too: a function clients may call is
-- granted by name.
-- ---------------------------------------------------------------------------
alter default privileges revoke execute on functions from public;
alter default privileges in schema public revoke execute on functions
  from anon, authenticated, service_role;

-- Every function in private is the server's (it connects as the owner); clients reach
-- private.user_workspace_ids() through their RLS policies, and nothing else.
revoke execute on all functions in schema private from public, anon, authenticated, service_role;
grant execute on function private.user_workspace_ids() to authenticated;

-- ---------------------------------------------------------------------------
-- A fixed, empty search_path on every function of ours (they name every object with its
-- schema), so no caller's search_path can swap an object under them. Done here, last, for
-- all of them at once; a function (re)defined by a later migration must say
-- `set search_path = ''` itself (tests/grants_test.ts fails otherwise).
-- ---------------------------------------------------------------------------
do $$
declare
  r record;
begin
  for r in
    select p.oid::regprocedure as fn
    from pg_proc p
    join pg_namespace n on n.oid = p.pronamespace
    where n.nspname in ('public', 'private')
      and p.proowner = (select oid from pg_roles where rolname = current_user)
      and not exists (select 1 from pg_depend d
                      where d.classid = 'pg_proc'::regclass and d.objid = p.oid
                        and d.deptype = 'e')
      and not exists (select 1 from unnest(coalesce(p.proconfig, '{}')) c
                      where c like 'search_path=%')
  loop
    execute format('alter function %s set search_path = %L', r.fn, '');
  end loop;
end
$$;
