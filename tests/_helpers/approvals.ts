// Helpers for approval tests and the approval benchmark: a paired workspace, requests,
// decisions, and waiting for the waiter to park.
import type postgres from "postgres";
import { randomDevice, randomWorkspace, type TestWorkspace } from "./fixtures.ts";
import { bridgeFetch, fetchJson, type Json, mintUserToken, type Stack } from "./stack.ts";

export interface PairedWorkspace extends TestWorkspace {
  deviceId: string;
  userId: string;
  token: string;
}

/** A workspace with one device of a new user paired, and that user's access token. */
export async function pairedWorkspace(sql: postgres.Sql): Promise<PairedWorkspace> {
  const ws = await randomWorkspace(sql);
  const device = await randomDevice(sql, { workspaceId: ws.workspaceId });
  return { ...ws, ...device, token: await mintUserToken(device.userId) };
}

/** POST /bridge-approval-request; returns status and body. */
export async function requestApproval(
  stack: Pick<Stack, "functionsUrl">,
  ws: TestWorkspace,
  body: Record<string, unknown> = {},
): Promise<{ status: number; body: Json; headers: Headers }> {
  const res = await bridgeFetch(stack, ws, "POST", "/bridge-approval-request", {
    run_id: crypto.randomUUID(),
    command: "rm -rf build",
    cwd: "/home/dev/secret-project",
    ...body,
  });
  return { status: res.status, body: await res.json(), headers: res.headers };
}

/** GET /bridge-approval-wait/:id?timeout=… */
export async function waitApproval(
  stack: Pick<Stack, "functionsUrl">,
  ws: TestWorkspace,
  approvalId: string,
  timeout = 30,
): Promise<{ status: number; body: Json }> {
  const res = await bridgeFetch(
    stack,
    ws,
    "GET",
    `/bridge-approval-wait/${approvalId}?timeout=${timeout}`,
  );
  return { status: res.status, body: await res.json() };
}

/** POST /mobile-approval-decision/:id with the user's token. */
export async function decideApproval(
  stack: Pick<Stack, "functionsUrl">,
  token: string,
  approvalId: string,
  body: Record<string, unknown>,
): Promise<{ status: number; body: Json; headers: Headers }> {
  return await fetchJson(`${stack.functionsUrl}/mobile-approval-decision/${approvalId}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

/** A pending approval written straight into the database (for waiter tests). */
export async function insertPendingApproval(
  sql: postgres.Sql,
  workspaceId: string,
  expiresInSeconds = 600,
): Promise<string> {
  const runId = crypto.randomUUID();
  await sql`insert into public.runs (id, workspace_id, provider) values (${runId}, ${workspaceId}, 'test')`;
  const [row] = await sql`
    insert into public.approvals (run_id, workspace_id, command, expires_at)
    values (${runId}, ${workspaceId}, 'make deploy',
            now() + make_interval(secs => ${expiresInSeconds}))
    returning id`;
  return row.id;
}

/** Resolves once `check` holds, polling every 10 ms (gives up after `limitMs`). */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  what: string,
  limitMs = 20_000,
): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > limitMs) throw new Error(`Gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
