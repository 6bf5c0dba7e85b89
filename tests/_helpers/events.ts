// Helpers for the run-event tests: a valid bridge-event body, a signed POST of it, and
// counts of what a request wrote.
import type postgres from "postgres";
import { type BridgeCredentials, bridgeFetch, type Json, type Stack } from "./stack.ts";

export interface EventBody {
  workspace_id: string;
  run_id: string;
  provider: string;
  event_type: string;
  event_ts: string;
  payload: Record<string, unknown>;
  event_id?: string;
  provider_run_id?: string;
}

/** A valid bridge-event body for the workspace (a new run unless run_id is given). */
export function eventBody(workspaceId: string, overrides: Partial<EventBody> = {}): EventBody {
  return {
    workspace_id: workspaceId,
    run_id: crypto.randomUUID(),
    provider: "claude-code",
    event_type: "TOOL_USED",
    event_ts: new Date().toISOString(),
    payload: { tool: "Bash" },
    ...overrides,
  };
}

/** POSTs a signed event; returns status, parsed body and headers. */
export async function postEvent(
  stack: Pick<Stack, "functionsUrl">,
  creds: BridgeCredentials,
  body: unknown,
  options: Parameters<typeof bridgeFetch>[5] = {},
): Promise<{ status: number; body: Json; headers: Headers }> {
  const res = await bridgeFetch(stack, creds, "POST", "/bridge-event", body, options);
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
}

/** Rows a bridge request can write, for "nothing was written" assertions. */
export async function writtenRows(sql: postgres.Sql): Promise<Record<string, number>> {
  const [row] = await sql`
    select (select count(*) from public.events)::int as events,
           (select count(*) from public.runs)::int as runs,
           (select count(*) from private.bridge_nonces)::int as nonces,
           (select coalesce(sum(hits), 0) from private.rate_limits)::int as rate_hits,
           (select count(*) from private.push_outbox)::int as outbox`;
  return { ...row };
}
