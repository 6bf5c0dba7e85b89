-- The web app's reads (issue 18, docs/web-api.md): the inbox across every paired workspace,
-- recent runs, a run's timeline after a seq, the paired workspaces. The local stack has no
-- PostgREST, so these are functions; each takes the user id from a verified JWT and answers
-- only for workspaces paired with one of that user's devices (private.workspaces_of_user,
-- the rule the RLS policies apply). Server-only: no client role may call them.
-- Plus NOTIFY approvals_changed (payload: the workspace id, nothing else) from every change
-- of an approval that the inbox shows, which wakes parked mobile long-polls.

-- The inbox's "recent" list across all statuses: newest requested first, per workspace.
create index if not exists approvals_workspace_recent_idx
  on public.approvals (workspace_id, requested_at desc);

-- ---------------------------------------------------------------------------
-- NOTIFY approvals_changed. A trigger, so that every writer (request, decision, expiry,
-- delivery receipt, push receipt) is covered without changing their functions; Postgres
-- folds identical notifications of one transaction into one. Any login can LISTEN and
-- NOTIFY, so the payload is only the workspace id, and the waiters re-read, never believe.
-- ---------------------------------------------------------------------------
create or replace function private.notify_approval_changed() returns trigger
language plpgsql set search_path = '' as $$
begin
  perform pg_notify('approvals_changed', new.workspace_id::text);
  return null;
end
$$;

drop trigger if exists approvals_notify_insert on public.approvals;
create trigger approvals_notify_insert after insert on public.approvals
  for each row execute function private.notify_approval_changed();
drop trigger if exists approvals_notify_update on public.approvals;
create trigger approvals_notify_update after update on public.approvals
  for each row
  when (old.status is distinct from new.status
        or old.delivered_at is distinct from new.delivered_at
        or old.devices_notified is distinct from new.devices_notified
        or old.note is distinct from new.note)
  execute function private.notify_approval_changed();

-- ---------------------------------------------------------------------------
-- One inbox item (docs/web-api.md, Item); a PENDING approval past its expiry is shown
-- EXPIRED (the waiter's settle writes that status only when a hook runner waits on it).
-- ---------------------------------------------------------------------------
create or replace function private.inbox_item(p_approval public.approvals, p_project text)
returns jsonb
language sql stable set search_path = '' as $$
  select jsonb_build_object(
    'approval_id', p_approval.id,
    'workspace_id', p_approval.workspace_id,
    'project_name', p_project,
    'run_id', p_approval.run_id,
    'agent', coalesce(p_approval.provider,
                      (select r.provider from public.runs r where r.id = p_approval.run_id)),
    'command', p_approval.command,
    'context', p_approval.context,
    'status', case when p_approval.status = 'PENDING' and p_approval.expires_at <= now()
                   then 'EXPIRED' else p_approval.status end,
    'requested_at', private.ts_text(p_approval.requested_at),
    'expires_at', private.ts_text(p_approval.expires_at),
    'decided_at', private.ts_text(p_approval.decided_at),
    'note', p_approval.note,
    'decided_by_device_id', p_approval.decided_by_device_id,
    'delivered_at', private.ts_text(p_approval.delivered_at),
    'devices_notified', coalesce(p_approval.devices_notified, 0),
    'requires_unlock', p_approval.requires_unlock)
$$;

-- The inboxes of several users at once (the first read of a request passes one; the
-- waiter's batched re-read passes every parked one): p_user_ids[i] with p_recent[i] recent
-- items. Each: {user_id, recent_limit, cursor, workspace_ids, pending, recent, next_expiry}.
-- The cursor is a digest of everything shown, so equal cursors mean the same inbox.
create or replace function private.mobile_inboxes(p_user_ids uuid[], p_recent integer[])
returns jsonb
language sql stable set search_path = '' as $$
  select coalesce(jsonb_agg(inbox), '[]'::jsonb)
  from (
    select jsonb_build_object(
      'user_id', q.user_id,
      'recent_limit', q.recent,
      'cursor', md5(jsonb_build_array(ws.ids, p.items, r.items)::text),
      'workspace_ids', ws.ids,
      'pending', p.items,
      'recent', r.items,
      'next_expiry', private.ts_text(p.next_expiry)) as inbox
    from unnest(p_user_ids, p_recent) as q(user_id, recent)
    cross join lateral (
      select coalesce(jsonb_agg(w order by w), '[]'::jsonb) as ids,
             coalesce(array_agg(w), '{}') as arr
      from (select distinct w from private.workspaces_of_user(q.user_id) w) d
    ) ws
    cross join lateral (
      select coalesce(jsonb_agg(private.inbox_item(a, w.display_name)
                                order by a.requested_at desc, a.id), '[]'::jsonb) as items,
             min(a.expires_at) as next_expiry
      from (
        select * from public.approvals a
        where a.workspace_id = any (ws.arr) and a.status = 'PENDING' and a.expires_at > now()
        order by a.requested_at desc, a.id
        limit 100
      ) a
      join public.workspaces w on w.id = a.workspace_id
    ) p
    cross join lateral (
      select coalesce(jsonb_agg(private.inbox_item(a, w.display_name)
                                order by a.requested_at desc, a.id), '[]'::jsonb) as items
      from (
        select * from public.approvals a
        where a.workspace_id = any (ws.arr)
          and (a.status <> 'PENDING' or a.expires_at <= now())
        order by a.requested_at desc, a.id
        limit greatest(q.recent, 0)
      ) a
      join public.workspaces w on w.id = a.workspace_id
    ) r
  ) s
$$;

-- ---------------------------------------------------------------------------
-- GET /mobile-runs: recent runs of one of the user's workspaces, or of all of them.
-- ---------------------------------------------------------------------------
create or replace function private.mobile_runs(
  p_user_id uuid, p_workspace_id uuid, p_limit integer
) returns jsonb
language plpgsql stable set search_path = '' as $$
declare
  v_ws uuid[];
begin
  select coalesce(array_agg(distinct w), '{}') into v_ws
  from private.workspaces_of_user(p_user_id) w;
  if p_workspace_id is not null then
    if not (p_workspace_id = any (v_ws)) then
      perform private.fail('not_found', 'Not found: no such workspace');
    end if;
    v_ws := array[p_workspace_id];
  end if;
  return jsonb_build_object('runs', coalesce((
    select jsonb_agg(jsonb_build_object(
      'run_id', r.id,
      'workspace_id', r.workspace_id,
      'project_name', w.display_name,
      'agent', r.provider,
      'provider_run_id', r.provider_run_id,
      'status', r.status,
      'started_at', private.ts_text(r.started_at),
      'ended_at', private.ts_text(r.ended_at),
      'last_event_at', private.ts_text(r.last_event_at),
      'last_message', r.last_message,
      'last_seq', r.last_seq,
      'pending_approvals', (select count(*) from public.approvals a
                            where a.run_id = r.id and a.status = 'PENDING'
                              and a.expires_at > now())
    ) order by r.last_event_at desc, r.id)
    from (
      select * from public.runs r
      where r.workspace_id = any (v_ws)
      order by r.last_event_at desc, r.id
      limit p_limit
    ) r
    join public.workspaces w on w.id = r.workspace_id
  ), '[]'::jsonb));
end
$$;

-- ---------------------------------------------------------------------------
-- GET /mobile-run-events: the events after a seq, with everything the browser needs to
-- recompute private.event_hash: the canonical timestamp texts and the payload's jsonb text
-- (the payload itself only as that text: JSON.parse it). The run's chain head is read in
-- the same snapshot.
-- ---------------------------------------------------------------------------
create or replace function private.mobile_run_events(
  p_user_id uuid, p_run_id uuid, p_after_seq integer, p_limit integer
) returns jsonb
language plpgsql stable set search_path = '' as $$
declare
  v_run public.runs;
  v_events jsonb;
  v_count integer;
begin
  select * into v_run from public.runs r where r.id = p_run_id;
  if v_run.id is null or not exists (
    select 1 from private.workspaces_of_user(p_user_id) w where w = v_run.workspace_id
  ) then
    perform private.fail('not_found', 'Not found: no such run');
  end if;
  select coalesce(jsonb_agg(jsonb_build_object(
           'event_id', e.id,
           'seq', e.seq,
           'type', e.type,
           'provider', e.provider,
           'event_ts', private.ts_text(e.event_ts),
           'created_at', private.ts_text(e.created_at),
           'payload_text', e.payload_text,
           'prev_hash', e.prev_hash,
           'hash', e.hash) order by e.seq), '[]'::jsonb),
         count(*)
    into v_events, v_count
  from (
    -- at most p_limit events, and no more than about 1 MiB of payload text past the first
    -- (a payload may be 64 KiB: 500 of them would be tens of MB built, sent and parsed)
    select p.*, sum(octet_length(p.payload_text)) over (order by p.seq)
                - octet_length(p.payload_text) as bytes_before
    from (
      select e.*, e.payload::text as payload_text from public.events e
      where e.run_id = p_run_id and e.seq > p_after_seq
      order by e.seq
      limit p_limit
    ) p
  ) e
  where e.bytes_before < 1048576;
  return jsonb_build_object(
    'run_id', v_run.id,
    'workspace_id', v_run.workspace_id,
    'project_name', (select w.display_name from public.workspaces w
                     where w.id = v_run.workspace_id),
    'run_status', v_run.status,
    'last_seq', v_run.last_seq,
    'last_hash', v_run.last_hash,
    'events', v_events,
    'has_more', v_count > 0
                and (v_events -> (v_count - 1) ->> 'seq')::integer < v_run.last_seq);
end
$$;

-- The chain heads of several runs (the waiter's batched re-read of parked timeline waits).
create or replace function private.run_heads(p_run_ids uuid[])
returns jsonb
language sql stable set search_path = '' as $$
  select coalesce(jsonb_agg(jsonb_build_object('run_id', r.id, 'last_seq', r.last_seq)),
                  '[]'::jsonb)
  from public.runs r
  where r.id = any (p_run_ids)
$$;

-- ---------------------------------------------------------------------------
-- GET /mobile-workspaces: the user's devices and the workspaces paired with them.
-- ---------------------------------------------------------------------------
create or replace function private.mobile_workspaces(p_user_id uuid)
returns jsonb
language sql stable set search_path = '' as $$
  select jsonb_build_object(
    'devices', coalesce((
      select jsonb_agg(private.device_json(d) order by d.created_at, d.id)
      from public.devices d where d.user_id = p_user_id), '[]'::jsonb),
    'workspaces', coalesce((
      select jsonb_agg(jsonb_build_object(
        'workspace_id', w.id,
        'project_name', w.display_name,
        'created_at', private.ts_text(w.created_at),
        'devices', (
          select jsonb_agg(jsonb_build_object(
                   'device_id', d.id, 'device_name', d.device_name, 'platform', d.platform,
                   'paired_at', private.ts_text(wd.paired_at)) order by wd.paired_at, d.id)
          from public.workspace_devices wd
          join public.devices d on d.id = wd.device_id
          where wd.workspace_id = w.id and d.user_id = p_user_id),
        'pending_approvals', (select count(*) from public.approvals a
                              where a.workspace_id = w.id and a.status = 'PENDING'
                                and a.expires_at > now()),
        'last_run_at', (select private.ts_text(max(r.last_event_at)) from public.runs r
                        where r.workspace_id = w.id)
      ) order by w.display_name, w.id)
      from public.workspaces w
      where w.id in (select private.workspaces_of_user(p_user_id))), '[]'::jsonb))
$$;

revoke all on function private.notify_approval_changed() from public, anon, authenticated, service_role;
revoke all on function private.inbox_item(public.approvals, text) from public, anon, authenticated, service_role;
revoke all on function private.mobile_inboxes(uuid[], integer[]) from public, anon, authenticated, service_role;
revoke all on function private.mobile_runs(uuid, uuid, integer) from public, anon, authenticated, service_role;
revoke all on function private.mobile_run_events(uuid, uuid, integer, integer) from public, anon, authenticated, service_role;
revoke all on function private.run_heads(uuid[]) from public, anon, authenticated, service_role;
revoke all on function private.mobile_workspaces(uuid) from public, anon, authenticated, service_role;
