// The API's request and response bodies (docs/contract/api.md), one zod schema each. Strict:
// unknown fields are refused. The functions validate with them, each endpoint names its
// response schema (docs/openapi.json is generated from the endpoints), and the client
// derives its types from them with `import type` only (no zod in a hook's bundle).
import { z } from "zod";
import { subscriptionProblem } from "./push_subscription.ts";

const uuid = z.uuid({ version: undefined }).transform((s) => s.toLowerCase());
const isoTime = z.iso.datetime({ offset: true });
/** UPPER_SNAKE event types, ≤ 64 characters */
const EventType = z.string().max(64).regex(/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/, {
  message: "must be UPPER_SNAKE_CASE",
});

function jsonDepth(value: unknown, depth = 0): number {
  if (depth > 64) return depth;
  if (value === null || typeof value !== "object") return depth;
  let max = depth + 1;
  for (const v of Object.values(value as Record<string, unknown>)) {
    max = Math.max(max, jsonDepth(v, depth + 1));
    if (max > 64) break;
  }
  return max;
}
/** a JSON object nested at most 32 levels */
export const JsonObject = z.record(z.string(), z.unknown()).refine((v) => jsonDepth(v) <= 32, {
  message: "must be nested at most 32 levels deep",
});

// 1. pair-start
export const PairStartRequest = z.strictObject({
  machine_id: z.string().min(1).max(200),
  workspace_fingerprint: z.string().min(1).max(200),
  display_name: z.string().trim().min(1).max(100),
});
export const PairStartResponse = z.object({
  pair_token: z.string().length(8),
  expires_at: isoTime,
  workspace_id: z.uuid(),
  bridge_secret: z.string(),
  pairing_uri: z.string(),
});

// 2. pair-complete
const Platform = z.enum(["ios", "android", "web"]);
const PushProvider = z.enum(["fcm", "apns", "webpush"]);

/** A `webpush` device's push token must be its PushSubscription JSON; a web device pushes
 * only through Web Push. */
function checkPushToken(
  body: { platform?: string; push_provider?: string; push_token?: string },
  ctx: z.core.$RefinementCtx,
): void {
  if (body.platform === "web" && body.push_provider && body.push_provider !== "webpush") {
    ctx.addIssue({
      code: "custom",
      path: ["push_provider"],
      message: 'must be "webpush" for platform "web"',
    });
  }
  if (body.push_provider === "webpush" && body.platform && body.platform !== "web") {
    ctx.addIssue({ code: "custom", path: ["platform"], message: 'must be "web" for webpush' });
  }
  if (body.push_provider === "webpush" && body.push_token !== undefined) {
    const problem = subscriptionProblem(body.push_token);
    if (problem) ctx.addIssue({ code: "custom", path: ["push_token"], message: problem });
  }
}

export const PairCompleteRequest = z.strictObject({
  pair_token: z.string().min(1).max(64),
  platform: Platform,
  /** optional for platform "web" only: a browser without a push subscription (push off) */
  push_token: z.string().min(1).max(4096).optional(),
  /** default "fcm", or "webpush" for platform "web" */
  push_provider: PushProvider.optional(),
  device_id: uuid.optional(),
  device_name: z.string().trim().min(1).max(100).optional(),
}).superRefine((body, ctx) => {
  if (body.push_token === undefined && body.platform !== "web") {
    ctx.addIssue({
      code: "custom",
      path: ["push_token"],
      message: 'is required (only a "web" device may pair without one: push off)',
    });
  }
  checkPushToken(body, ctx);
});
export const PairCompleteResponse = z.object({
  device_id: z.uuid(),
  workspace_id: z.uuid(),
  display_name: z.string(),
});

// 3. pair-status
export const PairStatusQuery = z.object({
  wait: z.coerce.number().int().min(0).max(60).default(0),
});
export const PairStatusResponse = z.object({
  workspace_id: z.uuid(),
  paired: z.boolean(),
  devices: z.array(z.object({
    device_id: z.uuid(),
    platform: Platform,
    device_name: z.string().nullable(),
    paired_at: isoTime,
  })),
});

// 4. bridge-event
const RunStatus = z.enum(["RUNNING", "COMPLETED", "FAILED", "STOPPED"]);
export const BridgeEventRequest = z.strictObject({
  workspace_id: uuid,
  run_id: uuid,
  provider: z.string().min(1).max(64),
  event_type: EventType,
  event_ts: isoTime,
  payload: JsonObject,
  event_id: uuid.optional(),
  provider_run_id: z.string().min(1).max(200).optional(),
});
export const BridgeEventResponse = z.object({
  event_id: z.uuid(),
  run_id: z.uuid(),
  run_status: RunStatus,
  duplicate: z.boolean(),
});

// 5. bridge-approval-request
const ApprovalStatus = z.enum(["PENDING", "APPROVED", "DENIED", "EXPIRED"]);
export const BridgeApprovalRequest = z.strictObject({
  run_id: uuid,
  command: z.string().min(1).refine((s) => new TextEncoder().encode(s).length <= 8192, {
    message: "must be at most 8 KiB",
  }),
  cwd: z.string().max(4096),
  context: JsonObject.optional(),
  kind: z.literal("command").default("command"),
  expires_in_seconds: z.number().int().min(30).max(3600).default(600),
  provider: z.string().min(1).max(64).optional(),
  request_key: z.string().min(1).max(200).optional(),
});
export const BridgeApprovalResponse = z.object({
  approval_id: z.uuid(),
  status: ApprovalStatus,
  expires_at: isoTime,
});

// 6. bridge-approval-wait
export const ApprovalWaitQuery = z.object({
  timeout: z.coerce.number().int().min(0).max(120).default(90),
});
export const ApprovalWaitResponse = z.object({
  approval_id: z.uuid(),
  status: ApprovalStatus,
  note: z.string().nullable(),
  decided_at: isoTime.nullable(),
  expires_at: isoTime,
  /** how many devices a push provider accepted this approval's push for */
  devices_notified: z.number().int().min(0),
});
/** An approval as the hook runner sees it: the waiter's answer and the SDK's. */
export type ApprovalState = z.output<typeof ApprovalWaitResponse>;

// Rules (issue 15): lifetimes 60 s .. 90 days, 24 h by default.
const ruleLifetime = z.number().int().min(60).max(7776000);
export const RuleEffect = z.enum(["allow", "deny"]);
export const RuleMatch = z.enum(["exact", "prefix"]);
/** `remember` on a decision: exact = this command; prefix = a leading run of its words. */
const RememberRule = z.strictObject({
  match: RuleMatch,
  prefix: z.string().trim().min(1).max(2000).optional(),
  expires_in_seconds: ruleLifetime.default(86400),
}).refine((r) => (r.match === "prefix") === (r.prefix !== undefined), {
  message: "prefix is required with match prefix, and only with it",
  path: ["prefix"],
});

// 7. mobile-approval-decision
export const ApprovalDecisionRequest = z.strictObject({
  decision: z.enum(["APPROVE", "DENY"]),
  note: z.string().max(2000).optional(),
  device_id: uuid.optional(),
  remember: RememberRule.optional(),
});
export const ApprovalDecisionResponse = z.object({
  approval_id: z.uuid(),
  status: ApprovalStatus,
  note: z.string().nullable(),
  decided_at: isoTime.nullable(),
  decided_by_device_id: z.uuid().nullable(),
  /** the rule `remember` made */
  rule_id: z.uuid().optional(),
});

// 8. mobile-device
export const MobileDeviceRequest = z.strictObject({
  device_id: uuid,
  push_token: z.string().min(1).max(4096).optional(),
  push_provider: PushProvider.optional(),
  device_name: z.string().trim().min(1).max(100).optional(),
}).superRefine(checkPushToken);
export const DeviceResponse = z.object({
  device_id: z.uuid(),
  platform: Platform,
  push_provider: PushProvider,
  has_push_token: z.boolean(),
  device_name: z.string().nullable(),
  created_at: isoTime,
  updated_at: isoTime,
});

// 9. mobile-unpair
export const MobileUnpairRequest = z.strictObject({
  workspace_id: uuid,
  device_id: uuid,
});
export const MobileUnpairResponse = z.object({
  workspace_id: z.uuid(),
  device_id: z.uuid(),
  unpaired: z.literal(true),
});

// 8a. instructions
export const RunInstructionRequest = z.strictObject({
  text: z.string().trim().min(1).max(4000),
});
export const RunInstructionResponse = z.object({
  instruction_id: z.uuid(),
  run_id: z.uuid(),
  status: z.literal("QUEUED"),
  created_at: isoTime,
});
export const RunInstructionsResponse = z.object({
  run_id: z.uuid(),
  instructions: z.array(z.object({
    instruction_id: z.uuid(),
    text: z.string(),
    created_at: isoTime,
  })),
});

// push-decision: the decision token from an approval push is the credential
export const PushDecisionRequest = z.strictObject({
  decision_token: z.string().min(16).max(128).regex(/^[A-Za-z0-9_-]+$/, {
    message: "must be the decision_token of an approval push",
  }),
  decision: z.enum(["APPROVE", "DENY"]),
  note: z.string().max(2000).optional(),
});
export const PushDecisionResponse = ApprovalDecisionResponse.meta({
  description: "the decision, as mobile-approval-decision answers it",
});

// push-dispatch: the outbox sweep
export const PushDispatchResponse = z.object({
  /** how many due outbox rows this sweep claimed and tried to deliver */
  attempted: z.number().int().min(0),
});

// push-config: what a web client needs to subscribe to Web Push
export const PushConfigResponse = z.object({
  /** base64url VAPID public key (the applicationServerKey), null when Web Push is off */
  vapid_public_key: z.string().nullable(),
});

// Rules (issue 15)
export const RuleCreateRequest = z.strictObject({
  workspace_id: uuid,
  effect: RuleEffect,
  match: RuleMatch,
  value: z.string().trim().min(1).max(2000),
  expires_in_seconds: ruleLifetime.default(86400),
  note: z.string().max(500).optional(),
  device_id: uuid.optional(),
});
export const RuleResponse = z.object({
  rule_id: z.uuid(),
  workspace_id: z.uuid(),
  effect: RuleEffect,
  match: RuleMatch,
  value: z.string(),
  /** the rule's simple commands, normalized: what the hook runner matches */
  words: z.array(z.array(z.string())),
  note: z.string().nullable(),
  source_approval_id: z.uuid().nullable(),
  created_by_device_id: z.uuid().nullable(),
  created_at: isoTime,
  expires_at: isoTime,
  revoked_at: isoTime.nullable(),
});
export const RulesQuery = z.object({ workspace_id: uuid });
export const RulesListResponse = z.object({
  workspace_id: z.uuid(),
  rules: z.array(RuleResponse),
});
export const BridgeRulesResponse = z.object({
  /** the hash of the active set; also the ETag */
  version: z.string(),
  rules: z.array(RuleResponse),
});

// The web app's reads (issue 18, docs/web-api.md)
const longPollWait = z.coerce.number().int().min(0).max(30).default(0);
export const MobileInboxQuery = z.object({
  wait: longPollWait,
  since: z.string().regex(/^[0-9a-f]{32}$/, {
    message: "must be the cursor of an earlier answer",
  }).optional(),
  recent: z.coerce.number().int().min(0).max(50).default(20),
});
export const Risk = z.enum(["read_only", "other", "dangerous"]);
export const InboxItem = z.object({
  approval_id: z.uuid(),
  workspace_id: z.uuid(),
  project_name: z.string(),
  run_id: z.uuid(),
  agent: z.string().nullable(),
  command: z.string(),
  context: z.record(z.string(), z.unknown()).nullable(),
  status: ApprovalStatus,
  requested_at: isoTime,
  expires_at: isoTime,
  decided_at: isoTime.nullable(),
  note: z.string().nullable(),
  decided_by_device_id: z.uuid().nullable(),
  /** the waiting hook runner received the decision ("the agent has your answer") */
  delivered_at: isoTime.nullable(),
  devices_notified: z.number().int().min(0),
  requires_unlock: z.boolean(),
  /** the server's command policy (shared/command_policy.ts) */
  risk: Risk,
  risk_reason: z.string(),
});
export const MobileInboxResponse = z.object({
  /** changes exactly when what is shown changes; pass it as `since` to long-poll */
  cursor: z.string(),
  server_time: isoTime,
  workspace_ids: z.array(z.uuid()),
  pending: z.array(InboxItem),
  recent: z.array(InboxItem),
});
export const MobileRunsQuery = z.object({
  workspace_id: uuid.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
});
const MobileRun = z.object({
  run_id: z.uuid(),
  workspace_id: z.uuid(),
  project_name: z.string(),
  agent: z.string(),
  provider_run_id: z.string().nullable(),
  status: RunStatus,
  started_at: isoTime,
  ended_at: isoTime.nullable(),
  last_event_at: isoTime,
  last_message: z.string().nullable(),
  last_seq: z.number().int().min(0),
  pending_approvals: z.number().int().min(0),
});
export const MobileRunsResponse = z.object({ runs: z.array(MobileRun) });
export const MobileRunEventsQuery = z.object({
  run_id: uuid,
  after_seq: z.coerce.number().int().min(0).max(2147483647).default(0),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  wait: longPollWait,
});
const TimelineEvent = z.object({
  event_id: z.uuid(),
  seq: z.number().int().min(1),
  type: z.string(),
  provider: z.string().nullable(),
  /** canonical text, as hashed: YYYY-MM-DDTHH:MM:SS.ffffffZ */
  event_ts: isoTime,
  created_at: isoTime,
  /** the payload exactly as hashed (Postgres jsonb text): JSON.parse it to read it */
  payload_text: z.string(),
  prev_hash: z.string().nullable(),
  hash: z.string(),
});
export const MobileRunEventsResponse = z.object({
  run_id: z.uuid(),
  workspace_id: z.uuid(),
  project_name: z.string(),
  run_status: RunStatus,
  last_seq: z.number().int().min(0),
  last_hash: z.string().nullable(),
  events: z.array(TimelineEvent),
  has_more: z.boolean(),
});
export const MobileWorkspacesResponse = z.object({
  devices: z.array(DeviceResponse),
  workspaces: z.array(z.object({
    workspace_id: z.uuid(),
    project_name: z.string(),
    created_at: isoTime,
    /** the user's own devices paired there */
    devices: z.array(z.object({
      device_id: z.uuid(),
      device_name: z.string().nullable(),
      platform: Platform,
      paired_at: isoTime,
    })),
    pending_approvals: z.number().int().min(0),
    last_run_at: isoTime.nullable(),
  })),
});
// dev-sign-in: the local stack's stand-in for anonymous sign-in
export const DevSignInRequest = z.strictObject({ user_id: uuid.optional() });
export const DevSignInResponse = z.object({
  access_token: z.string(),
  token_type: z.literal("bearer"),
  expires_in: z.number().int(),
  /** unix seconds */
  expires_at: z.number().int(),
  user: z.object({
    id: z.uuid(),
    aud: z.literal("authenticated"),
    role: z.literal("authenticated"),
    is_anonymous: z.literal(true),
  }),
});
