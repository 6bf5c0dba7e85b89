// The web app's reads that can wait (docs/web-api.md): the inbox across every paired
// workspace and a run's timeline head, read in batches for the read waiter
// (read_waiter.ts), and the command-policy verdict each inbox item carries.
import type * as v from "valibot";
import type { InboxItem } from "@shared/api_schemas.ts";
import type { Risk } from "@shared/command_policy.ts";
import { analyzeCommand } from "./command_analysis.ts";
import { callJson, type Sql } from "./db.ts";

type Item = v.InferOutput<typeof InboxItem>;
type StoredItem = Omit<Item, "risk" | "risk_reason">;

/** One user's inbox as private.mobile_inboxes answers it. */
export interface InboxState {
  kind: "inbox";
  user_id: string;
  recent_limit: number;
  cursor: string;
  workspace_ids: string[];
  pending: StoredItem[];
  recent: StoredItem[];
  next_expiry: string | null;
}

/** A run's chain head (a parked timeline read answers once last_seq passes its after_seq). */
interface RunHead {
  kind: "run";
  run_id: string;
  last_seq: number;
}

export type ReadState = InboxState | RunHead;

export function inboxKey(userId: string, recent: number): string {
  return `inbox:${userId}:${recent}`;
}

export function runKey(runId: string): string {
  return `run:${runId}`;
}

/** Reads the inboxes of several users (one query). */
export async function readInboxes(
  sql: Sql,
  requests: { userId: string; recent: number }[],
): Promise<InboxState[]> {
  const rows = await callJson<Omit<InboxState, "kind">[]>(
    sql,
    "private.mobile_inboxes($1::uuid[], $2::integer[])",
    [requests.map((r) => r.userId), requests.map((r) => r.recent)],
  );
  return rows.map((r) => ({ kind: "inbox", ...r }));
}

/** The read waiter's batched re-read: every inbox key in one query, every run key in one. */
export function createBatchRead(sql: Sql): (keys: string[]) => Promise<Map<string, ReadState>> {
  return async (keys) => {
    const out = new Map<string, ReadState>();
    const inboxes: { userId: string; recent: number }[] = [];
    const runs: string[] = [];
    for (const key of keys) {
      const [kind, id, recent] = key.split(":");
      if (kind === "inbox") inboxes.push({ userId: id, recent: Number(recent) });
      else if (kind === "run") runs.push(id);
    }
    const [inboxStates, heads] = await Promise.all([
      inboxes.length > 0 ? readInboxes(sql, inboxes) : [],
      runs.length > 0
        ? callJson<Omit<RunHead, "kind">[]>(sql, "private.run_heads($1::uuid[])", [runs])
        : [],
    ]);
    for (const s of inboxStates) out.set(inboxKey(s.user_id, s.recent_limit), s);
    for (const h of heads) out.set(runKey(h.run_id), { kind: "run", ...h });
    return out;
  };
}

// ---- the command policy's verdict --------------------------------------------------------
// requires_unlock was decided when the approval was requested, with its working directory
// (bridge-approval-request): it alone says "dangerous". Without the directory, the same
// analysis can only be stricter (a write to an absolute path inside the project counts as
// outside), so a verdict of "dangerous" that the request did not reach is shown as "other".
const VERDICTS_KEPT = 1000;
const verdicts = new Map<string, { risk: Risk; reason: string }>();

async function analyzed(command: string): Promise<{ risk: Risk; reason: string }> {
  let verdict = verdicts.get(command);
  if (!verdict) {
    const { risk, reason } = await analyzeCommand(command);
    verdict = { risk, reason };
    if (verdicts.size >= VERDICTS_KEPT) verdicts.delete(verdicts.keys().next().value!);
    verdicts.set(command, verdict);
  }
  return verdict;
}

/** An inbox item with `risk` and `risk_reason`. */
async function withRisk(item: StoredItem): Promise<Item> {
  const verdict = await analyzed(item.command);
  if (item.requires_unlock) {
    const reason = verdict.risk === "dangerous"
      ? verdict.reason
      : "the command policy marked it dangerous when it was requested";
    return { ...item, risk: "dangerous", risk_reason: reason };
  }
  if (verdict.risk === "dangerous") {
    return { ...item, risk: "other", risk_reason: "not dangerous in its working directory" };
  }
  return { ...item, risk: verdict.risk, risk_reason: verdict.reason };
}

/** The inbox as the API answers it (docs/web-api.md). */
export async function inboxResponse(state: InboxState, nowMs: number) {
  return {
    cursor: state.cursor,
    server_time: new Date(nowMs).toISOString(),
    workspace_ids: state.workspace_ids,
    pending: await Promise.all(state.pending.map(withRisk)),
    recent: await Promise.all(state.recent.map(withRisk)),
  };
}
