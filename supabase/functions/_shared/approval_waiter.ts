// Parks long-poll requests until their approval is decided (SPEC section 7).
// STUB: replaced by the approvals work.
import type { Deps } from "./deps.ts";

export interface ApprovalWaiter {
  /** answers every parked request at once (runtime shutdown) */
  shutdown(): void;
  close(): Promise<void>;
}

export function createApprovalWaiter(_deps: Deps): ApprovalWaiter {
  return { shutdown() {}, close: () => Promise.resolve() };
}
