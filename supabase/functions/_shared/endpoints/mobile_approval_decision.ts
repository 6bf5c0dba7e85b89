// mobile-approval-decision: not built yet.
import { notImplemented } from "../endpoint.ts";

export const mobileApprovalDecision = notImplemented("mobile-approval-decision", "POST", "mobile");
