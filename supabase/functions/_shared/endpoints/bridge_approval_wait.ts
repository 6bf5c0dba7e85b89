// bridge-approval-wait: not built yet.
import { notImplemented } from "../endpoint.ts";

export const bridgeApprovalWait = notImplemented("bridge-approval-wait", "GET", "bridge");
