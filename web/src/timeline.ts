// A run's timeline as the app holds it: the events read so far (pages of mobile-run-events),
// checked with the shared hash-chain verifier (shared/event_chain.ts, Web Crypto) as they
// arrive: each page from the last row already verified, against the chain head the server
// reported once the page is the last one.
import { type ChainLink, type ChainReport, verifyChain } from "../../shared/event_chain.ts";
import type { RunEvents, TimelineEvent } from "./types.ts";

/** What has been checked so far: the last verified row, how many rows, and the verdict. */
export interface TimelineCheck {
  last: (ChainLink & { hash: string }) | null;
  checked: number;
  /** null until the read reached the run's head; stays failed once failed */
  report: ChainReport | null;
}

export const UNCHECKED: TimelineCheck = { last: null, checked: 0, report: null };

/** Verifies `events` (the rows after `check.last`, in order) and carries the verdict on. */
export async function verifyTimeline(
  check: TimelineCheck,
  events: TimelineEvent[],
  head: Pick<RunEvents, "last_seq" | "last_hash" | "has_more">,
): Promise<TimelineCheck> {
  if (check.report && !check.report.ok) return check;
  const report = await verifyChain(
    events.map((e) => ({
      id: e.event_id,
      seq: e.seq,
      type: e.type,
      event_ts: e.event_ts,
      created_at: e.created_at,
      payload: e.payload_text,
      prev_hash: e.prev_hash,
      hash: e.hash,
    })),
    {
      from: check.last ?? undefined,
      head: head.has_more ? undefined : { seq: head.last_seq, hash: head.last_hash },
    },
  );
  const checked = check.checked + report.checked;
  if (!report.ok) return { last: check.last, checked, report: { ...report, checked } };
  const last = events.at(-1);
  return {
    last: last ? { seq: last.seq, hash: last.hash } : check.last,
    checked,
    // mid-read (has_more) the rows so far hold, but the run is not verified to its head yet
    report: head.has_more ? check.report : { ...report, checked },
  };
}

/** The payload exactly as hashed (payload_text), parsed. */
export function verifiedPayload(event: TimelineEvent): Record<string, unknown> {
  try {
    return JSON.parse(event.payload_text) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/** One line for a timeline event: what happened, in words (`deviceName` names a device). */
export function describeEvent(
  event: TimelineEvent,
  deviceName: (id: string) => string = (id) => `device ${id.slice(0, 8)}`,
): string {
  const p = verifiedPayload(event);
  const str = (key: string) => (typeof p[key] === "string" ? p[key] as string : "");
  switch (event.type) {
    case "APPROVAL_REQUESTED":
      return `Asked to run: ${str("command")}`;
    case "APPROVAL_DECIDED":
      return `${str("status") || "Decided"}${str("note") ? `, note: “${str("note")}”` : ""}${
        str("decided_by_device_id") ? ` on ${deviceName(str("decided_by_device_id"))}` : ""
      }`;
    case "APPROVAL_EXPIRED":
      return "The approval expired unanswered";
    case "APPROVAL_DELIVERED":
      return "The agent received the answer";
    case "APPROVAL_REMINDED":
      return "Reminder pushed";
    case "INSTRUCTION_QUEUED":
      return `Instruction queued: ${str("text")}`;
    case "INSTRUCTION_DELIVERED":
      return `Instruction delivered to the agent${str("text") ? `: ${str("text")}` : ""}`;
    case "PUSH_FAILED":
      return `Push failed${str("reason") ? `: ${str("reason")}` : ""}`;
    case "RULE_APPLIED":
      return `A rule decided${str("command") ? `: ${str("command")}` : ""}`;
    default:
      return str("message");
  }
}
