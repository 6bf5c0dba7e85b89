// Outbox rows for push tests, written the way the endpoints write them: a run, an approval,
// and private.enqueue_* in SQL.
import type postgres from "postgres";

export async function randomRun(
  sql: postgres.Sql,
  workspaceId: string,
  options: { status?: string; lastMessage?: string } = {},
): Promise<string> {
  const [row] = await sql`
    insert into public.runs (id, workspace_id, provider, status, last_message)
    values (gen_random_uuid(), ${workspaceId}, 'claude-code', ${options.status ?? "RUNNING"},
            ${options.lastMessage ?? null})
    returning id`;
  return row.id;
}

export async function randomApproval(
  sql: postgres.Sql,
  workspaceId: string,
  runId: string,
  options: { command?: string; expiresInSeconds?: number } = {},
): Promise<string> {
  const [row] = await sql`
    insert into public.approvals (run_id, workspace_id, command, expires_at)
    values (${runId}, ${workspaceId}, ${options.command ?? "rm -rf build/"},
            now() + make_interval(secs => ${options.expiresInSeconds ?? 600}))
    returning id`;
  return row.id;
}

/** private.enqueue_approval_push for the approval; returns how many rows it wrote. */
export async function enqueueApprovalPush(sql: postgres.Sql, approvalId: string): Promise<number> {
  const [row] = await sql`
    select private.enqueue_approval_push(a) as n from public.approvals a where a.id = ${approvalId}`;
  return row.n;
}

export async function enqueueApprovalClearPush(
  sql: postgres.Sql,
  approvalId: string,
  exceptDeviceId: string,
): Promise<number> {
  const [row] = await sql`
    select private.enqueue_approval_clear_push(a, ${exceptDeviceId}::uuid) as n
    from public.approvals a where a.id = ${approvalId}`;
  return row.n;
}

export async function enqueueRunEndedPush(sql: postgres.Sql, runId: string): Promise<number> {
  const [row] = await sql`
    select private.enqueue_run_ended_push(r) as n from public.runs r where r.id = ${runId}`;
  return row.n;
}

export async function outboxRows(sql: postgres.Sql, workspaceId: string) {
  return await sql`
    select o.*, extract(epoch from (o.next_attempt_at - o.updated_at)) as wait_seconds
    from private.push_outbox o where o.workspace_id = ${workspaceId} order by o.id`;
}

/** Makes every waiting row of the workspace due now (instead of sleeping through backoff). */
export async function makeDue(sql: postgres.Sql, workspaceId: string): Promise<void> {
  await sql`update private.push_outbox set next_attempt_at = now()
            where workspace_id = ${workspaceId} and status = 'pending'`;
}
