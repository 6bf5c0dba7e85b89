// bridge-approval-request: not built yet.
import { notImplemented } from "../endpoint.ts";

export const bridgeApprovalRequest = notImplemented("bridge-approval-request", "POST", "bridge");
