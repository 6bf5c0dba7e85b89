// A run's timeline as the app holds it: every event read so far (pages of
// mobile-run-events), checked with the shared hash-chain verifier (shared/event_chain.ts,
// Web Crypto) against the chain head the server reported.
import { type ChainReport, verifyChain } from "../../shared/event_chain.ts";
import type { RunEvents, TimelineEvent } from "./types.ts";

export async function verifyTimeline(
  events: TimelineEvent[],
  head: Pick<RunEvents, "last_seq" | "last_hash">,
): Promise<ChainReport> {
  return await verifyChain(
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
    { seq: head.last_seq, hash: head.last_hash },
  );
}

/** The payload as verified (payload_text), not the parsed copy the server also sent. */
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
    case "DEVICE_PAIRED":
      return "A device paired";
    case "RULE_APPLIED":
      return `A rule decided${str("command") ? `: ${str("command")}` : ""}`;
    default:
      return str("message");
  }
}
