-- Rules made on the phone ("always allow this here"): scoped to one workspace, expiring,
-- revocable, audited. The hook runner fetches a workspace's active rules (bridge-rules)
-- and decides matching commands without asking the phone; what a rule matches is defined
-- once in shared/rule_match.ts, so the words (`words`, the parsed simple commands) are
-- computed by the functions and stored, never re-derived here. Creating and revoking write
-- RULE_CREATED / RULE_REVOKED on the workspace timeline. Depends on workspaces, the
-- timeline and approvals (a decision can remember a rule). Its changes reach the phone
-- through the platform migration's broadcasts.

create table public.rules (
  id uuid primary key default gen_random_uuid(),
  workspace_id uuid not null references public.workspaces (id) on delete cascade,
  effect text not null check (effect in ('allow', 'deny')),
  match text not null check (match in ('exact', 'prefix')),
  value text not null check (char_length(value) between 1 and 8192),
  words jsonb not null check (jsonb_typeof(words) = 'array' and jsonb_array_length(words) > 0),
  note text check (note is null or char_length(note) <= 500),
  source_approval_id uuid unique references public.approvals (id) on delete set null,
  created_by_user_id uuid not null,
  created_by_device_id uuid references public.devices (id) on delete set null,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  revoked_at timestamptz,
  revoked_by_user_id uuid
);
-- a workspace's live rules, newest first (the phone's list, the runner's fetch, the cap)
create index rules_workspace_live_idx on public.rules (workspace_id, created_at desc, id desc)
  where revoked_at is null;

alter table public.rules enable row level security;
revoke all on public.rules from anon, authenticated;
grant select on public.rules to authenticated;
create policy rules_paired_select on public.rules for select to authenticated
  using (workspace_id in (select private.user_workspace_ids()));

-- A rule as the API answers it (phone and hook runner alike).
create function private.rule_json(p_rule public.rules) returns jsonb
language sql immutable set search_path = '' as $$
  select jsonb_build_object(
    'rule_id', p_rule.id,
    'workspace_id', p_rule.workspace_id,
    'effect', p_rule.effect,
    'match', p_rule.match,
    'value', p_rule.value,
    'words', p_rule.words,
    'note', p_rule.note,
    'source_approval_id', p_rule.source_approval_id,
    'created_by_device_id', p_rule.created_by_device_id,
    'created_at', private.ts_text(p_rule.created_at),
    'expires_at', private.ts_text(p_rule.expires_at),
    'revoked_at', private.ts_text(p_rule.revoked_at))
$$;

-- A workspace's active rules, newest first, as a JSON array.
create function private.active_rules_json(p_workspace_id uuid) returns jsonb
language sql stable set search_path = '' as $$
  select coalesce(jsonb_agg(private.rule_json(r) order by r.created_at desc, r.id desc),
                  '[]'::jsonb)
  from public.rules r
  where r.workspace_id = p_workspace_id and r.revoked_at is null and r.expires_at > now()
$$;

-- Which of the user's devices acts in the workspace: p_device_id when it is one of them,
-- the only one when there is one; not_found when none is paired there (no existence
-- oracle), invalid_request when several are and none was named.
create function private.acting_device(
  p_user_id uuid, p_workspace_id uuid, p_device_id uuid
) returns uuid
language plpgsql stable set search_path = '' as $$
declare
  v_devices uuid[];
begin
  select array_agg(d.id order by d.id) into v_devices
  from public.workspace_devices wd
  join public.devices d on d.id = wd.device_id
  where wd.workspace_id = p_workspace_id and d.user_id = p_user_id;
  if v_devices is null then
    perform private.fail('not_found', 'Not found: no such workspace');
  end if;
  if p_device_id is not null then
    if not p_device_id = any(v_devices) then
      perform private.fail('not_found',
        'Not found: device_id is not one of your devices paired with this workspace');
    end if;
    return p_device_id;
  end if;
  if cardinality(v_devices) > 1 then
    perform private.fail('invalid_request',
      format('Invalid request: device_id is required, since %s of your devices are paired with this workspace',
             cardinality(v_devices)),
      jsonb_build_object('device_ids', to_jsonb(v_devices)));
  end if;
  return v_devices[1];
end
$$;

-- Stores one rule and writes RULE_CREATED on the workspace timeline. The workspace row
-- lock serialises creations, so the cap of 200 active rules holds under concurrency.
create function private.insert_rule(
  p_workspace_id uuid, p_user_id uuid, p_device_id uuid, p_rule jsonb,
  p_source_approval_id uuid
) returns public.rules
language plpgsql set search_path = '' as $$
declare
  v_rule public.rules;
  v_active integer;
begin
  perform 1 from public.workspaces where id = p_workspace_id for update;
  select count(*) into v_active from public.rules
  where workspace_id = p_workspace_id and revoked_at is null and expires_at > now();
  if v_active >= 200 then
    perform private.fail('conflict',
      'Conflict: this workspace already has 200 active rules; revoke one first',
      jsonb_build_object('active_rules', v_active, 'limit', 200));
  end if;
  insert into public.rules (workspace_id, effect, match, value, words, note,
                            source_approval_id, created_by_user_id, created_by_device_id,
                            expires_at)
  values (p_workspace_id, p_rule ->> 'effect', p_rule ->> 'match', p_rule ->> 'value',
          p_rule -> 'words', p_rule ->> 'note', p_source_approval_id, p_user_id, p_device_id,
          now() + make_interval(secs => coalesce((p_rule ->> 'expires_in_seconds')::integer,
                                                 86400)))
  returning * into v_rule;
  perform private.append_event(p_workspace_id, null, 'RULE_CREATED',
    jsonb_strip_nulls(jsonb_build_object(
      'rule_id', v_rule.id, 'effect', v_rule.effect, 'match', v_rule.match,
      'value', v_rule.value, 'expires_at', private.ts_text(v_rule.expires_at),
      'note', v_rule.note, 'source_approval_id', v_rule.source_approval_id,
      'created_by_device_id', v_rule.created_by_device_id,
      'created_by_user_id', p_user_id)),
    null, 'agentops', null);
  return v_rule;
end
$$;

-- POST /mobile-rules. p_rule: {workspace_id, effect, match, value, words,
-- expires_in_seconds?, note?, device_id?} (value and words normalized by the endpoint).
create function private.create_rule(p_user_id uuid, p_rule jsonb) returns jsonb
language plpgsql set search_path = '' as $$
declare
  v_workspace_id uuid := (p_rule ->> 'workspace_id')::uuid;
  v_device uuid;
begin
  v_device := private.acting_device(p_user_id, v_workspace_id, (p_rule ->> 'device_id')::uuid);
  return private.rule_json(private.insert_rule(v_workspace_id, p_user_id, v_device, p_rule,
                                               null));
end
$$;

-- GET /mobile-rules?workspace_id=: the active rules of one of the user's workspaces.
create function private.list_rules(p_user_id uuid, p_workspace_id uuid)
returns jsonb
language plpgsql stable set search_path = '' as $$
begin
  if not exists (select 1 from private.workspaces_of_user(p_user_id) w
                 where w = p_workspace_id) then
    perform private.fail('not_found', 'Not found: no such workspace');
  end if;
  return jsonb_build_object('workspace_id', p_workspace_id,
                            'rules', private.active_rules_json(p_workspace_id));
end
$$;

-- POST /mobile-rule-revoke/:rule_id. Revoking a revoked rule answers it again (no second
-- event); a rule of a workspace the user cannot see is not_found.
create function private.revoke_rule(p_user_id uuid, p_rule_id uuid) returns jsonb
language plpgsql set search_path = '' as $$
declare
  v_rule public.rules;
begin
  select * into v_rule from public.rules where id = p_rule_id for update;
  if v_rule.id is null or not exists (
    select 1 from private.workspaces_of_user(p_user_id) w where w = v_rule.workspace_id
  ) then
    perform private.fail('not_found', 'Not found: no such rule');
  end if;
  if v_rule.revoked_at is not null then
    return private.rule_json(v_rule);
  end if;
  update public.rules set revoked_at = now(), revoked_by_user_id = p_user_id
  where id = p_rule_id
  returning * into v_rule;
  perform private.append_event(v_rule.workspace_id, null, 'RULE_REVOKED',
    jsonb_build_object('rule_id', v_rule.id, 'effect', v_rule.effect, 'match', v_rule.match,
                       'value', v_rule.value, 'revoked_by_user_id', p_user_id),
    null, 'agentops', null);
  return private.rule_json(v_rule);
end
$$;

-- GET /bridge-rules: consumes the nonce and answers the workspace's active rules with a
-- version that is their content's hash (so an expiry changes it too). When the runner
-- already holds that version (If-None-Match) the list is not sent: {not_modified: true}.
create function private.bridge_rules(
  p_workspace_id uuid, p_secret_version integer, p_nonce text, p_known_version text
) returns jsonb
language plpgsql set search_path = '' as $$
declare
  v_rules jsonb;
  v_version text;
begin
  perform private.consume_nonce(p_workspace_id, p_secret_version, p_nonce);
  v_rules := private.active_rules_json(p_workspace_id);
  v_version := md5(v_rules::text);
  if p_known_version is not null and p_known_version = v_version then
    return jsonb_build_object('version', v_version, 'not_modified', true);
  end if;
  return jsonb_build_object('version', v_version, 'rules', v_rules);
end
$$;

-- mobile-approval-decision with `remember`: the decision (private.decide_approval,
-- unchanged) and the rule it asks for, in one transaction. p_rule: {command, effect,
-- match, value, words, expires_in_seconds?}; `command` is the approval's command the
-- endpoint derived the words from, checked here so the rule matches what was decided.
-- The same decision repeated answers the rule it already made; a refused rule (the cap)
-- refuses the decision too, so nothing is half done. An expiry is answered as before.
create function private.decide_approval_and_remember(
  p_user_id uuid, p_approval_id uuid, p_decision text, p_note text, p_device_id uuid,
  p_rule jsonb
) returns jsonb
language plpgsql set search_path = '' as $$
declare
  v_out jsonb;
  v_approval public.approvals;
  v_rule public.rules;
begin
  v_out := private.decide_approval(p_user_id, p_approval_id, p_decision, p_note, p_device_id);
  if p_rule is null or v_out ? 'expired' then
    return v_out;
  end if;
  select * into v_approval from public.approvals where id = p_approval_id;
  if v_approval.command is distinct from p_rule ->> 'command' then
    perform private.fail('conflict', 'Conflict: the approval''s command is not the one checked');
  end if;
  select * into v_rule from public.rules where source_approval_id = p_approval_id;
  if v_rule.id is null then
    v_rule := private.insert_rule(v_approval.workspace_id, p_user_id,
                                  v_approval.decided_by_device_id, p_rule, p_approval_id);
  end if;
  return jsonb_build_object('result', (v_out -> 'result') || jsonb_build_object('rule_id', v_rule.id));
end
$$;

-- The approval command the decision endpoint derives a remembered rule from, when the
-- user may see it (else null: the decision itself then answers not_found).
create function private.approval_command_for_user(
  p_user_id uuid, p_approval_id uuid
) returns text
language sql stable set search_path = '' as $$
  select a.command from public.approvals a
  where a.id = p_approval_id
    and a.workspace_id in (select private.workspaces_of_user(p_user_id))
$$;
