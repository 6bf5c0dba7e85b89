// The tenants a bad-input corpus runs against: workspace A (user U's device paired, a
// run, a pending approval, a live pair token) and the same for another tenant B, written
// straight into the test database. Plus a fingerprint of every table, to prove that a
// refused request wrote nothing.
import type postgres from "postgres";
import { sha256Hex } from "../../shared/signing.ts";
import { randomDevice, randomWorkspace, type TestWorkspace } from "../_helpers/fixtures.ts";
import { mintUserToken } from "../_helpers/stack.ts";

export interface Tenant {
  ws: TestWorkspace;
  userId: string;
  deviceId: string;
  token: string;
  runId: string;
  approvalId: string;
  pairToken: string;
  /** an active allow rule of the workspace */
  ruleId: string;
}

export interface World {
  a: Tenant;
  b: Tenant;
}

async function tenant(sql: postgres.Sql, pairToken: string): Promise<Tenant> {
  const ws = await randomWorkspace(sql);
  const { deviceId, userId } = await randomDevice(sql, { workspaceId: ws.workspaceId });
  const runId = crypto.randomUUID();
  await sql`insert into public.runs (id, workspace_id, provider) values (${runId}, ${ws.workspaceId}, 'claude-code')`;
  const [approval] = await sql`
    insert into public.approvals (run_id, workspace_id, command, cwd_hash, expires_at)
    values (${runId}, ${ws.workspaceId}, 'rm -rf build', ${await sha256Hex(
    "/tmp",
  )}, now() + interval '1 hour')
    returning id`;
  await sql`
    insert into private.pair_tokens (token_hash, workspace_id, expires_at)
    values (${await sha256Hex(pairToken)}, ${ws.workspaceId}, now() + interval '10 minutes')`;
  const [rule] = await sql`
    insert into public.rules (workspace_id, effect, match, value, words, created_by_user_id,
                              expires_at)
    values (${ws.workspaceId}, 'allow', 'prefix', 'make', '[["make"]]', ${userId},
            now() + interval '1 hour')
    returning id`;
  return {
    ruleId: rule.id,
    ws,
    userId,
    deviceId,
    token: await mintUserToken(userId),
    runId,
    approvalId: approval.id,
    pairToken,
  };
}

export async function createWorld(sql: postgres.Sql): Promise<World> {
  return { a: await tenant(sql, "ABCDEFGH"), b: await tenant(sql, "JKMNPQRS") };
}

/** md5 of every row of every table in public and private, by table. */
export async function fingerprint(sql: postgres.Sql): Promise<Record<string, string>> {
  const tables = await sql<{ name: string }[]>`
    select format('%I.%I', schemaname, tablename) as name from pg_tables
    where schemaname in ('public', 'private') order by 1`;
  const parts = tables.map((t) =>
    `select '${t.name}' as name, count(*) || ':' || coalesce(md5(string_agg(x::text, '|' order by x::text)), '') as sum from ${t.name} x`
  );
  const rows = await sql.unsafe<{ name: string; sum: string }[]>(parts.join(" union all "));
  return Object.fromEntries(rows.map((r) => [r.name, r.sum]));
}

/** The tables whose fingerprint differs. */
export function changedTables(
  before: Record<string, string>,
  after: Record<string, string>,
): string[] {
  const names = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...names].filter((n) => before[n] !== after[n]).sort();
}
