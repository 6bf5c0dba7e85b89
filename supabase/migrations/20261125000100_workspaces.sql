-- Workspaces and devices: the tables every other capability hangs off (a workspace is one
-- machine's project, a device one phone, workspace_devices the pairings between them),
-- who may read them (RLS: a user reads only the workspaces their devices are paired with),
-- and the guard of every signed bridge request (its nonce and secret version). Depends on
-- the foundation; every later migration depends on this one.

-- ---------------------------------------------------------------------------
-- Tables
-- ---------------------------------------------------------------------------
create table public.devices (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null,
  -- web and webpush: Web Push, whose push token is the browser's PushSubscription JSON
  -- (validated by the API schema)
  platform text not null check (platform in ('ios', 'android', 'web')),
  push_provider text not null default 'fcm'
    check (push_provider in ('fcm', 'apns', 'webpush')),
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
-- the server's alone. The original specification puts these columns on workspaces
-- (docs/contract/data-model.md#workspace-keys); they live here, in `private` (which the Data API
-- does not expose and no client has a table grant in), so that a co-paired user can `select *` from
-- workspaces without learning them (they were once all pair-start needed to take a workspace over)
-- and without column-level grants.
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
revoke all on private.workspace_keys from public, anon, authenticated, service_role;

create table public.workspace_devices (
  workspace_id uuid not null references public.workspaces (id) on delete cascade,
  device_id uuid not null references public.devices (id) on delete cascade,
  paired_at timestamptz not null default now(),
  primary key (workspace_id, device_id)
);
create index workspace_devices_device_idx on public.workspace_devices (device_id);

-- ---------------------------------------------------------------------------
-- Grants and row level security: clients read their own rows, write nothing.
-- ---------------------------------------------------------------------------
alter table public.devices enable row level security;
alter table public.workspaces enable row level security;
alter table public.workspace_devices enable row level security;
revoke all on public.devices, public.workspaces, public.workspace_devices
  from anon, authenticated;
-- The whole of workspaces: what identifies a machine is in private.workspace_keys.
grant select on public.devices, public.workspaces, public.workspace_devices to authenticated;

-- The workspaces the calling user's devices are paired with. Security definer so that
-- policies do not recurse through each other's RLS; in `private`, which the API does not
-- expose. It takes no user id: it answers only for auth.uid(), never for anyone else.
create function private.user_workspace_ids()
returns setof uuid
language sql stable security definer set search_path = '' as $$
  select wd.workspace_id
  from public.workspace_devices wd
  join public.devices d on d.id = wd.device_id
  where d.user_id = (select auth.uid())
$$;
-- The one function a client may call, through its RLS policies.
grant usage on schema private to authenticated;
grant execute on function private.user_workspace_ids() to authenticated;

-- The workspaces paired with one of this user's devices, for the server's own checks (the
-- user id comes from a verified JWT). Server-only: no client role may call it, so it is no
-- oracle; clients' RLS uses private.user_workspace_ids(), which answers for auth.uid() only.
create function private.workspaces_of_user(p_user_id uuid)
returns setof uuid
language sql stable set search_path = '' as $$
  select wd.workspace_id
  from public.workspace_devices wd
  join public.devices d on d.id = wd.device_id
  where d.user_id = p_user_id
$$;

create policy devices_owner_select on public.devices for select to authenticated
  using (user_id = (select auth.uid()));
create policy workspace_devices_owner_select on public.workspace_devices for select
  to authenticated
  using (device_id in (select d.id from public.devices d where d.user_id = (select auth.uid())));
create policy workspaces_paired_select on public.workspaces for select to authenticated
  using (id in (select private.user_workspace_ids()));

-- A deleted user's devices go with them (no foreign key to auth.users: the local stack's
-- tokens name users it never stored).
create function private.delete_user_devices() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  delete from public.devices where user_id = old.id;
  return old;
end
$$;
create trigger on_auth_user_deleted after delete on auth.users
  for each row execute function private.delete_user_devices();

-- ---------------------------------------------------------------------------
-- The guard of signed bridge requests: each consumes its nonce in its own transaction, so
-- a refused request leaves the nonce unused.
-- ---------------------------------------------------------------------------
create table private.bridge_nonces (
  workspace_id uuid not null,
  nonce text not null,
  expires_at timestamptz not null,
  primary key (workspace_id, nonce)
);
create index bridge_nonces_expires_idx on private.bridge_nonces (expires_at);

-- Records a bridge request's nonce; refuses a replay within 600 s and a secret that was
-- rotated between the signature check and this write.
create function private.consume_nonce(
  p_workspace_id uuid, p_secret_version integer, p_nonce text
) returns void
language plpgsql set search_path = '' as $$
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
