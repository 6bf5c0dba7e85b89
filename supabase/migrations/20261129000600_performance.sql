-- Performance (issue 21). Every change here replaces an object defined in an earlier
-- migration, with why and what it measured; fold each into its capability's file.

-- ---------------------------------------------------------------------------
-- settle_approvals: the waiter's re-read also marks what it settles delivered.
-- Why: bridge-approval-wait answered a parked request only after a second SQL call of
-- its own (private.mark_approval_delivered: a write transaction that appends
-- APPROVAL_DELIVERED, two round trips with bound parameters), so the decision → answer
-- path was NOTIFY → re-read → mark delivered → answer: half of the path's time
-- (bench/approval.ts, main @ 3989e3c: commit → waiter woke p50 1.0 ms, woke → answer read
-- p50 1.4 ms). The waiter calls this only with the ids of requests parked in its isolate
-- and hands every settled state to them at once, so the receipt is the same one, written
-- one query earlier, by the same function (mark_approval_delivered, once per approval);
-- an EXPIRED approval is read as before. Rows are taken in id order, so two isolates
-- settling overlapping approvals lock their runs in the same order.
-- ---------------------------------------------------------------------------
create or replace function private.settle_approvals(p_ids uuid[]) returns jsonb
language plpgsql set search_path = '' as $$
declare
  v_expired integer;
  v_settled jsonb;
begin
  v_expired := private.expire_due_approvals(p_ids);
  select coalesce(jsonb_agg(private.mark_approval_delivered(s.id)), '[]'::jsonb)
  into v_settled
  from (select a.id from public.approvals a
        where a.id = any(p_ids) and a.status <> 'PENDING'
        order by a.id) s;
  return jsonb_build_object('expired', v_expired, 'settled', v_settled);
end
$$;
