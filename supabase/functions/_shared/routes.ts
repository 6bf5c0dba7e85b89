// Every endpoint by function name: what the local dev server mounts under
// /functions/v1/<name>, and what the tests serve. Each deployed function imports only its own.
import type { Endpoint } from "./endpoint.ts";
import { pairStart } from "./endpoints/pair_start.ts";
import { pairComplete } from "./endpoints/pair_complete.ts";
import { pairStatus } from "./endpoints/pair_status.ts";
import { bridgeEvent } from "./endpoints/bridge_event.ts";
import { bridgeApprovalRequest } from "./endpoints/bridge_approval_request.ts";
import { bridgeApprovalWait } from "./endpoints/bridge_approval_wait.ts";
import { mobileApprovalDecision } from "./endpoints/mobile_approval_decision.ts";
import { mobileDevice } from "./endpoints/mobile_device.ts";
import { mobileUnpair } from "./endpoints/mobile_unpair.ts";
import { mobileRunInstruction } from "./endpoints/mobile_run_instruction.ts";
import { bridgeRunInstructions } from "./endpoints/bridge_run_instructions.ts";
import { pushDispatch } from "./endpoints/push_dispatch.ts";
import { pushDecision } from "./endpoints/push_decision.ts";
import { pushConfig } from "./endpoints/push_config.ts";
import { mobileRulesCreate, mobileRulesList } from "./endpoints/mobile_rules.ts";
import { mobileRuleRevoke } from "./endpoints/mobile_rule_revoke.ts";
import { bridgeRules } from "./endpoints/bridge_rules.ts";
import { mobileInbox } from "./endpoints/mobile_inbox.ts";
import { mobileRuns } from "./endpoints/mobile_runs.ts";
import { mobileRunEvents } from "./endpoints/mobile_run_events.ts";
import { mobileWorkspaces } from "./endpoints/mobile_workspaces.ts";
import { devSignIn } from "./endpoints/dev_sign_in.ts";

export const endpoints: Endpoint[] = [
  pairStart,
  pairComplete,
  pairStatus,
  bridgeEvent,
  bridgeApprovalRequest,
  bridgeApprovalWait,
  mobileApprovalDecision,
  mobileDevice,
  mobileUnpair,
  mobileRunInstruction,
  bridgeRunInstructions,
  pushDispatch,
  pushDecision,
  pushConfig,
  mobileRulesCreate,
  mobileRulesList,
  mobileRuleRevoke,
  bridgeRules,
  mobileInbox,
  mobileRuns,
  mobileRunEvents,
  mobileWorkspaces,
  // local stack only (no function folder: never deployed); 404 unless every condition holds
  devSignIn,
];
