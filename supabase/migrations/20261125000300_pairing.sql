-- Pairing (docs/contract/api.md#pairing): pair tokens, and one function per request
-- of pair-start, pair-status, pair-complete, mobile-device and mobile-unpair, each the
-- request's whole transaction. Depends on workspaces (devices, keys, nonces) and the
-- timeline (DEVICE_PAIRED, DEVICE_UNPAIRED); private.unpair_device also drops the
-- device's pending pushes (the push migration's outbox, resolved when it runs).

create table private.pair_tokens (
  token_hash text primary key,
  workspace_id uuid not null references public.workspaces (id) on delete cascade,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  used_at timestamptz
);
create index pair_tokens_expires_idx on private.pair_tokens (expires_at);

-- A workspace's pairing state as pair-status answers it.
create function private.pairing_state(p_workspace_id uuid)
returns jsonb
language sql stable set search_path = '' as $$
  select jsonb_build_object(
    'workspace_id', p_workspace_id,
    'paired', count(wd.device_id) > 0,
    'devices', coalesce(jsonb_agg(jsonb_build_object(
        'device_id', d.id,
        'platform', d.platform,
        'device_name', d.device_name,
        'paired_at', private.ts_text(wd.paired_at))
      order by wd.paired_at, d.id) filter (where wd.device_id is not null), '[]'::jsonb))
  from public.workspace_devices wd
  join public.devices d on d.id = wd.device_id
  where wd.workspace_id = p_workspace_id
$$;

-- A device as the API shows it (never the push token itself).
create function private.device_json(p_device public.devices)
returns jsonb
language sql stable set search_path = '' as $$
  select jsonb_build_object(
    'device_id', p_device.id,
    'platform', p_device.platform,
    'push_provider', p_device.push_provider,
    'has_push_token', p_device.push_token is not null,
    'device_name', p_device.device_name,
    'created_at', private.ts_text(p_device.created_at),
    'updated_at', private.ts_text(p_device.updated_at))
$$;

-- pair-start: per-IP rate limit, then either the signer's workspace or a new one. The
-- same machine and project keep their workspace only when the request is signed with its
-- current secret (p_workspace_id, p_secret_version and p_nonce come from the verified
-- signature; the nonce is consumed here, so a captured request cannot be replayed to
-- rotate the secret again): its secret_version in private.workspace_keys is bumped
-- (which kills the old bridge secret) and its unused pair tokens dropped. Anything else — unsigned, or signed for another
-- machine or project — gets a new workspace: knowing a machine's identifiers is never
-- enough to take its workspace over.
create function private.pair_start(
  p_ip text, p_limit integer, p_request jsonb,
  p_workspace_id uuid default null, p_secret_version integer default null,
  p_nonce text default null
) returns jsonb
language plpgsql set search_path = '' as $$
declare
  v_workspace_id uuid;
  v_version integer;
  v_expires_at timestamptz := now() + make_interval(secs => (p_request ->> 'ttl_seconds')::integer);
begin
  perform private.hit_rate_limit('pair_start:ip:' || p_ip, p_limit, 60);
  if p_workspace_id is not null then
    perform private.consume_nonce(p_workspace_id, p_secret_version, p_nonce);
    -- the old tokens go first: pair_complete locks a token and then the workspace, so
    -- taking the locks in that order too leaves no deadlock between a re-pair and a
    -- redemption
    delete from private.pair_tokens t
    using private.workspace_keys k
    where t.workspace_id = k.workspace_id and t.used_at is null
      and k.workspace_id = p_workspace_id
      and k.machine_id = p_request ->> 'machine_id'
      and k.project_fingerprint = p_request ->> 'workspace_fingerprint';
    update private.workspace_keys k
    set secret_version = k.secret_version + 1
    where k.workspace_id = p_workspace_id
      and k.machine_id = p_request ->> 'machine_id'
      and k.project_fingerprint = p_request ->> 'workspace_fingerprint'
    returning k.workspace_id, k.secret_version into v_workspace_id, v_version;
    if v_workspace_id is not null then
      update public.workspaces w
      set display_name = p_request ->> 'display_name', updated_at = now()
      where w.id = v_workspace_id;
    end if;
  end if;
  if v_workspace_id is null then
    insert into public.workspaces (display_name)
    values (p_request ->> 'display_name')
    returning id into v_workspace_id;
    insert into private.workspace_keys (workspace_id, machine_id, project_fingerprint)
    values (v_workspace_id, p_request ->> 'machine_id', p_request ->> 'workspace_fingerprint')
    returning secret_version into v_version;
  end if;
  -- 40 random bits: a clash with a live token is all but impossible; a stale row with the
  -- same hash is simply replaced.
  insert into private.pair_tokens (token_hash, workspace_id, expires_at)
  values (p_request ->> 'token_hash', v_workspace_id, v_expires_at)
  on conflict (token_hash) do update
    set workspace_id = excluded.workspace_id, created_at = now(),
        expires_at = excluded.expires_at, used_at = null
    where private.pair_tokens.expires_at < now() or private.pair_tokens.used_at is not null;
  if not found then
    perform private.fail('conflict', 'Conflict: pair token collision, please retry');
  end if;
  return jsonb_build_object(
    'workspace_id', v_workspace_id,
    'secret_version', v_version,
    'expires_at', private.ts_text(v_expires_at));
end
$$;

-- pair-complete: per-user rate limit, then the named device (it must be the user's), then
-- the token (unknown, used and expired are one answer); then the device updated or created,
-- the link, DEVICE_PAIRED on the workspace's timeline and a NOTIFY that wakes pair-status. A wrong token or device is
-- returned as {"error": …} rather than raised, so that the rate-limit hit commits:
-- otherwise guessing tokens would cost nothing.
create function private.pair_complete(
  p_user_id uuid, p_limit integer, p_request jsonb
) returns jsonb
language plpgsql set search_path = '' as $$
declare
  v_token private.pair_tokens;
  v_workspace public.workspaces;
  v_device public.devices;
  v_not_found constant jsonb := jsonb_build_object('error', jsonb_build_object(
    'code', 'not_found',
    'message', 'Not found: the pair token is unknown, used or expired'));
begin
  perform private.hit_rate_limit('pair_complete:user:' || p_user_id, p_limit, 60);

  -- the device first, so that its answer says nothing about the token
  if p_request ? 'device_id' then
    perform 1 from public.devices
    where id = (p_request ->> 'device_id')::uuid and user_id = p_user_id
    for update;
    if not found then
      return jsonb_build_object('error', jsonb_build_object(
        'code', 'not_found', 'message', 'Not found: no such device'));
    end if;
  end if;

  select * into v_token from private.pair_tokens
  where token_hash = p_request ->> 'token_hash' and used_at is null and expires_at > now()
  for update;
  if not found then
    return v_not_found;
  end if;

  if p_request ? 'device_id' then
    update public.devices d
    set platform = p_request ->> 'platform',
        push_provider = p_request ->> 'push_provider',
        push_token = p_request ->> 'push_token',
        push_token_updated_at = case when d.push_token is distinct from p_request ->> 'push_token'
                                     then now() else d.push_token_updated_at end,
        device_name = coalesce(p_request ->> 'device_name', d.device_name),
        updated_at = now()
    where d.id = (p_request ->> 'device_id')::uuid
    returning * into v_device;
  else
    insert into public.devices (user_id, platform, push_provider, push_token,
                                push_token_updated_at, device_name)
    values (p_user_id, p_request ->> 'platform', p_request ->> 'push_provider',
            p_request ->> 'push_token', now(), p_request ->> 'device_name')
    returning * into v_device;
  end if;

  update private.pair_tokens set used_at = now() where token_hash = v_token.token_hash;
  insert into public.workspace_devices (workspace_id, device_id)
  values (v_token.workspace_id, v_device.id)
  on conflict (workspace_id, device_id) do nothing;
  select * into v_workspace from public.workspaces where id = v_token.workspace_id;
  perform private.append_event(v_token.workspace_id, null, 'DEVICE_PAIRED',
    jsonb_build_object('device_id', v_device.id, 'platform', v_device.platform,
                       'device_name', v_device.device_name));
  perform pg_notify('workspace_paired', v_token.workspace_id::text);
  return jsonb_build_object(
    'device_id', v_device.id,
    'workspace_id', v_workspace.id,
    'display_name', v_workspace.display_name);
end
$$;

-- pair-status: consumes the request's nonce, then reads the state. The long-poll's later
-- re-reads use private.pairing_state alone.
create function private.pair_status(
  p_workspace_id uuid, p_secret_version integer, p_nonce text
) returns jsonb
language plpgsql set search_path = '' as $$
begin
  perform private.consume_nonce(p_workspace_id, p_secret_version, p_nonce);
  return private.pairing_state(p_workspace_id);
end
$$;

-- The pairing waiter's one query for every pair-status parked in an isolate (batched poll,
-- a NOTIFY workspace_paired, a LISTEN reconnect): the states of those that are paired.
create function private.paired_states(p_workspace_ids uuid[])
returns jsonb
language sql stable set search_path = '' as $$
  select coalesce(jsonb_agg(private.pairing_state(w.workspace_id)), '[]'::jsonb)
  from (select distinct wd.workspace_id from public.workspace_devices wd
        where wd.workspace_id = any(p_workspace_ids)) w
$$;

-- mobile-device: one of the user's devices, updated. A new push token stamps
-- push_token_updated_at (APNs' 410 is honoured only for tokens older than it).
create function private.update_device(
  p_user_id uuid, p_request jsonb
) returns jsonb
language plpgsql set search_path = '' as $$
declare
  v_device public.devices;
begin
  update public.devices d
  set push_token = coalesce(p_request ->> 'push_token', d.push_token),
      push_token_updated_at = case
        when p_request ? 'push_token' and d.push_token is distinct from p_request ->> 'push_token'
        then now() else d.push_token_updated_at end,
      push_provider = coalesce(p_request ->> 'push_provider', d.push_provider),
      device_name = coalesce(p_request ->> 'device_name', d.device_name),
      updated_at = now()
  where d.id = (p_request ->> 'device_id')::uuid and d.user_id = p_user_id
  returning * into v_device;
  if not found then
    perform private.fail('not_found', 'Not found: no such device');
  end if;
  return private.device_json(v_device);
end
$$;

-- mobile-unpair: the link between one of the user's devices and a workspace goes; the
-- device's undelivered pushes for that workspace are dropped; DEVICE_UNPAIRED goes on the
-- workspace's timeline. The workspace's rows are hidden from the user by RLS once none of
-- their devices is paired with it.
create function private.unpair_device(
  p_user_id uuid, p_workspace_id uuid, p_device_id uuid
) returns jsonb
language plpgsql set search_path = '' as $$
begin
  delete from public.workspace_devices wd
  using public.devices d
  where wd.workspace_id = p_workspace_id and wd.device_id = p_device_id
    and d.id = wd.device_id and d.user_id = p_user_id;
  if not found then
    perform private.fail('not_found', 'Not found: no such device paired with that workspace');
  end if;
  update private.push_outbox
  set status = 'dropped', last_outcome = 'unpaired', updated_at = now()
  where device_id = p_device_id and workspace_id = p_workspace_id and status = 'pending';
  perform private.append_event(p_workspace_id, null, 'DEVICE_UNPAIRED',
    jsonb_build_object('device_id', p_device_id));
  return jsonb_build_object('workspace_id', p_workspace_id, 'device_id', p_device_id,
                            'unpaired', true);
end
$$;
