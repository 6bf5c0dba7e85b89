-- Instructions from the phone at any time (docs/contract/api.md#instructions): the phone queues
-- text for a run; the hook runner collects what is pending at the agent's next stop. Both ends are
-- timeline events (INSTRUCTION_QUEUED, INSTRUCTION_DELIVERED). Depends on workspaces and
-- the timeline.

create table public.run_instructions (
  id uuid primary key default gen_random_uuid(),
  run_id uuid not null references public.runs (id) on delete cascade,
  workspace_id uuid not null references public.workspaces (id) on delete cascade,
  text text not null check (char_length(text) between 1 and 4000),
  created_by_user_id uuid not null,
  created_at timestamptz not null default now(),
  delivered_at timestamptz
);
-- the collector's "pending for this run, oldest first" is one index range scan
create index run_instructions_pending_idx on public.run_instructions (run_id, created_at)
  where delivered_at is null;
create index run_instructions_run_idx on public.run_instructions (run_id, created_at);

alter table public.run_instructions enable row level security;
revoke all on public.run_instructions from anon, authenticated;
grant select on public.run_instructions to authenticated;
create policy run_instructions_paired_select on public.run_instructions for select
  to authenticated
  using (workspace_id in (select private.user_workspace_ids()));

-- The phone queues an instruction for a run it can see (any status: an interactive
-- Claude Code session stops after every turn, so a "completed" run may still continue).
-- A run the user cannot see is not_found, exactly like one that does not exist.
create function private.queue_run_instruction(
  p_user_id uuid, p_run_id uuid, p_text text, p_limit_per_minute integer
) returns jsonb
language plpgsql set search_path = '' as $$
declare
  v_run public.runs;
  v_instruction public.run_instructions;
begin
  select r.* into v_run from public.runs r
  where r.id = p_run_id
    and exists (select 1 from public.workspace_devices wd
                join public.devices d on d.id = wd.device_id
                where wd.workspace_id = r.workspace_id and d.user_id = p_user_id);
  if v_run.id is null then
    perform private.fail('not_found', 'Not found: no such run');
  end if;
  perform private.hit_rate_limit('instruction:' || p_user_id::text, p_limit_per_minute, 60);
  insert into public.run_instructions (run_id, workspace_id, text, created_by_user_id)
  values (v_run.id, v_run.workspace_id, p_text, p_user_id)
  returning * into v_instruction;
  perform private.append_event(v_run.workspace_id, v_run.id, 'INSTRUCTION_QUEUED',
    jsonb_build_object('instruction_id', v_instruction.id, 'text', v_instruction.text,
                       'user_id', p_user_id),
    null, 'agentops', null);
  return jsonb_build_object(
    'instruction_id', v_instruction.id,
    'run_id', v_run.id,
    'status', 'QUEUED',
    'created_at', private.ts_text(v_instruction.created_at));
end
$$;

-- The hook runner collects a run's pending instructions, oldest first, and marks them
-- delivered in the same statement. `for update skip locked` lets concurrent collectors
-- pass each other's rows instead of waiting, and `delivered_at is null` in the update
-- keeps a row from being handed out twice.
create function private.collect_run_instructions(
  p_workspace_id uuid, p_secret_version integer, p_nonce text, p_run_id uuid
) returns jsonb
language plpgsql set search_path = '' as $$
declare
  v_run public.runs;
  v_items jsonb;
  r record;
begin
  perform private.consume_nonce(p_workspace_id, p_secret_version, p_nonce);
  select * into v_run from public.runs where id = p_run_id and workspace_id = p_workspace_id;
  if v_run.id is null then
    perform private.fail('not_found', 'Not found: no such run in this workspace');
  end if;
  with picked as (
    select i.id from public.run_instructions i
    where i.run_id = p_run_id and i.delivered_at is null
    order by i.created_at, i.id
    for update skip locked
  ), delivered as (
    update public.run_instructions i set delivered_at = now()
    from picked
    where i.id = picked.id and i.delivered_at is null
    returning i.id, i.text, i.created_at
  )
  select coalesce(jsonb_agg(jsonb_build_object(
           'instruction_id', d.id, 'text', d.text,
           'created_at', private.ts_text(d.created_at))
         order by d.created_at, d.id), '[]'::jsonb)
  into v_items
  from delivered d;
  for r in select value as item from jsonb_array_elements(v_items) loop
    perform private.append_event(p_workspace_id, p_run_id, 'INSTRUCTION_DELIVERED',
      jsonb_build_object('instruction_id', r.item -> 'instruction_id'), null, 'agentops', null);
  end loop;
  return jsonb_build_object('run_id', p_run_id, 'instructions', v_items);
end
$$;
