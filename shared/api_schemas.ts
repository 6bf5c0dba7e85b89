// The API's request and response bodies (docs/contract/api.md), one valibot schema each.
// Strict: unknown fields are refused. The functions validate with them, each endpoint names
// its response schema (docs/openapi.json is generated from the endpoints by
// scripts/json_schema.ts), and the client derives its types from them with `import type`
// only (no valibot in a hook's bundle). valibot rather than zod: its import and these
// schemas add ~6 ms to a process that imports them, where zod's added ~31 ms (issue 21).
import * as v from "valibot";
import { subscriptionProblem } from "./push_subscription.ts";
import { text, trimmed } from "./public_request_schemas.ts";
// The requests validated before any credential is checked live apart, so the functions that
// validate them on their first request load only those (issue 21: this module costs ~4 ms of
// CPU at start, those ~1 ms).
export { PairStartRequest, PushDecisionRequest } from "./public_request_schemas.ts";

// zod's patterns (z.uuid(), z.iso.datetime({offset: true})), kept when the schemas moved to
// valibot: its own uuid() takes any version digit and isoTimestamp() more shapes.
const UUID_RE =
  /^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-8][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}|00000000-0000-0000-0000-000000000000|ffffffff-ffff-ffff-ffff-ffffffffffff)$/;
const ISO_TIME_RE =
  /^(?:(?:\d\d[2468][048]|\d\d[13579][26]|\d\d0[48]|[02468][048]00|[13579][26]00)-02-29|\d{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\d|30)|(?:02)-(?:0[1-9]|1\d|2[0-8])))T(?:(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d+)?(?:Z|([+-](?:[01]\d|2[0-3]):[0-5]\d)))$/;

/** A UUID as the API answers it. */
const Uuid = v.pipe(v.string(), v.metadata({ format: "uuid" }), v.regex(UUID_RE, "Invalid UUID"));
/** A UUID the client sends, lower-cased (the database's text form). */
const uuid = v.pipe(Uuid, v.transform((s) => s.toLowerCase()));
const isoTime = v.pipe(
  v.string(),
  v.metadata({ format: "date-time" }),
  v.regex(ISO_TIME_RE, "Invalid ISO datetime"),
);
function int(min: number, max = Number.MAX_SAFE_INTEGER) {
  return v.pipe(v.number(), v.safeInteger(), v.minValue(min), v.maxValue(max));
}
/** A count: a safe integer ≥ 0. */
const count = int(0);
/** A query parameter read as a number (`Number(text)`, so "" is 0), or `fallback`. */
function queryInt(min: number, max: number, fallback: number) {
  return v.optional(
    v.pipe(
      v.string(),
      v.transform(Number),
      v.number(),
      v.safeInteger(),
      v.minValue(min),
      v.maxValue(max),
    ),
    String(fallback),
  );
}
/** UPPER_SNAKE event types, ≤ 64 characters */
const EventType = v.pipe(
  v.string(),
  v.maxLength(64),
  v.regex(/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/, "must be UPPER_SNAKE_CASE"),
);

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
function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
/** a JSON object nested at most 32 levels. A custom schema, not v.record: that one takes
 * arrays and drops `constructor` and `prototype` keys; this passes the object on as sent. */
export const JsonObject = v.pipe(
  v.custom<Record<string, unknown>>(isObject, "Invalid type: Expected Object"),
  v.metadata({ type: "object", propertyNames: { type: "string" }, additionalProperties: {} }),
  v.check((value) => jsonDepth(value) <= 32, "must be nested at most 32 levels deep"),
);

// 1. pair-start (its request: public_request_schemas.ts)
export const PairStartResponse = v.object({
  pair_token: v.pipe(v.string(), v.length(8)),
  expires_at: isoTime,
  workspace_id: Uuid,
  bridge_secret: v.string(),
  pairing_uri: v.string(),
});

// 2. pair-complete
const Platform = v.picklist(["ios", "android", "web"]);
const PushProvider = v.picklist(["fcm", "apns", "webpush"]);

// a type, not an interface: valibot's partialCheck wants a Record
type PushFields = {
  platform?: string;
  push_provider?: string;
  push_token?: string;
};
/** A `webpush` device's push token must be its PushSubscription JSON (the message says
 * what is wrong with it). */
function webpushTokenProblem(body: PushFields): string | undefined {
  return body.push_provider === "webpush" && body.push_token !== undefined
    ? subscriptionProblem(body.push_token)
    : undefined;
}
/** The push token of a `webpush` device, checked once the rest of the body is valid; the
 * issue names push_token. Generic: pair-complete and mobile-device share it. */
function webpushTokenCheck<T extends PushFields>() {
  const check = v.check<T, (issue: v.CheckIssue<T>) => string>(
    (body) => webpushTokenProblem(body) === undefined,
    (issue) => webpushTokenProblem(issue.input) ?? "",
  );
  return v.forward(check, ["push_token"] as never);
}

export const PairCompleteRequest = v.pipe(
  v.strictObject({
    pair_token: text(1, 64),
    platform: Platform,
    /** optional for platform "web" only: a browser without a push subscription (push off) */
    push_token: v.optional(text(1, 4096)),
    /** default "fcm", or "webpush" for platform "web" */
    push_provider: v.optional(PushProvider),
    device_id: v.optional(uuid),
    device_name: v.optional(trimmed(1, 100)),
  }),
  v.forward(
    v.partialCheck(
      [["platform"], ["push_token"]],
      (body) => body.push_token !== undefined || body.platform === "web",
      'is required (only a "web" device may pair without one: push off)',
    ),
    ["push_token"],
  ),
  // a web device pushes only through Web Push, and Web Push only to a web device
  v.forward(
    v.partialCheck(
      [["platform"], ["push_provider"]],
      (body) => body.platform !== "web" || !body.push_provider || body.push_provider === "webpush",
      'must be "webpush" for platform "web"',
    ),
    ["push_provider"],
  ),
  v.forward(
    v.partialCheck(
      [["platform"], ["push_provider"]],
      (body) => body.push_provider !== "webpush" || body.platform === "web",
      'must be "web" for webpush',
    ),
    ["platform"],
  ),
  webpushTokenCheck(),
);
export const PairCompleteResponse = v.object({
  device_id: Uuid,
  workspace_id: Uuid,
  display_name: v.string(),
});

// 3. pair-status
export const PairStatusQuery = v.object({
  wait: queryInt(0, 60, 0),
});
export const PairStatusResponse = v.object({
  workspace_id: Uuid,
  paired: v.boolean(),
  devices: v.array(v.object({
    device_id: Uuid,
    platform: Platform,
    device_name: v.nullable(v.string()),
    paired_at: isoTime,
  })),
});

// 4. bridge-event
const RunStatus = v.picklist(["RUNNING", "COMPLETED", "FAILED", "STOPPED"]);
export const BridgeEventRequest = v.strictObject({
  workspace_id: uuid,
  run_id: uuid,
  provider: text(1, 64),
  event_type: EventType,
  event_ts: isoTime,
  payload: JsonObject,
  event_id: v.optional(uuid),
  provider_run_id: v.optional(text(1, 200)),
});
export const BridgeEventResponse = v.object({
  event_id: Uuid,
  run_id: Uuid,
  run_status: RunStatus,
  duplicate: v.boolean(),
});

// 5. bridge-approval-request
const ApprovalStatus = v.picklist(["PENDING", "APPROVED", "DENIED", "EXPIRED"]);
export const BridgeApprovalRequest = v.strictObject({
  run_id: uuid,
  command: v.pipe(v.string(), v.minLength(1), v.maxBytes(8192, "must be at most 8 KiB")),
  cwd: v.pipe(v.string(), v.maxLength(4096)),
  context: v.optional(JsonObject),
  kind: v.optional(v.literal("command"), "command"),
  expires_in_seconds: v.optional(int(30, 3600), 600),
  provider: v.optional(text(1, 64)),
  request_key: v.optional(text(1, 200)),
});
export const BridgeApprovalResponse = v.object({
  approval_id: Uuid,
  status: ApprovalStatus,
  expires_at: isoTime,
});

// 6. bridge-approval-wait
export const ApprovalWaitQuery = v.object({
  timeout: queryInt(0, 120, 90),
});
export const ApprovalWaitResponse = v.object({
  approval_id: Uuid,
  status: ApprovalStatus,
  note: v.nullable(v.string()),
  decided_at: v.nullable(isoTime),
  expires_at: isoTime,
  /** how many devices a push provider accepted this approval's push for */
  devices_notified: count,
});
/** An approval as the hook runner sees it: the waiter's answer and the SDK's. */
export type ApprovalState = v.InferOutput<typeof ApprovalWaitResponse>;

// Rules (issue 15): lifetimes 60 s .. 90 days, 24 h by default.
const ruleLifetime = v.optional(int(60, 7776000), 86400);
export const RuleEffect = v.picklist(["allow", "deny"]);
export const RuleMatch = v.picklist(["exact", "prefix"]);
/** `remember` on a decision: exact = this command; prefix = a leading run of its words. */
const RememberRule = v.pipe(
  v.strictObject({
    match: RuleMatch,
    prefix: v.optional(trimmed(1, 2000)),
    expires_in_seconds: ruleLifetime,
  }),
  v.forward(
    v.partialCheck(
      [["match"], ["prefix"]],
      (r) => (r.match === "prefix") === (r.prefix !== undefined),
      "prefix is required with match prefix, and only with it",
    ),
    ["prefix"],
  ),
);

// 7. mobile-approval-decision
export const ApprovalDecisionRequest = v.strictObject({
  decision: v.picklist(["APPROVE", "DENY"]),
  note: v.optional(v.pipe(v.string(), v.maxLength(2000))),
  device_id: v.optional(uuid),
  remember: v.optional(RememberRule),
});
export const ApprovalDecisionResponse = v.object({
  approval_id: Uuid,
  status: ApprovalStatus,
  note: v.nullable(v.string()),
  decided_at: v.nullable(isoTime),
  decided_by_device_id: v.nullable(Uuid),
  /** the rule `remember` made */
  rule_id: v.optional(Uuid),
});

// 8. mobile-device
export const MobileDeviceRequest = v.pipe(
  v.strictObject({
    device_id: uuid,
    push_token: v.optional(text(1, 4096)),
    push_provider: v.optional(PushProvider),
    device_name: v.optional(trimmed(1, 100)),
  }),
  webpushTokenCheck(),
);
export const DeviceResponse = v.object({
  device_id: Uuid,
  platform: Platform,
  push_provider: PushProvider,
  has_push_token: v.boolean(),
  device_name: v.nullable(v.string()),
  created_at: isoTime,
  updated_at: isoTime,
});

// 9. mobile-unpair
export const MobileUnpairRequest = v.strictObject({
  workspace_id: uuid,
  device_id: uuid,
});
export const MobileUnpairResponse = v.object({
  workspace_id: Uuid,
  device_id: Uuid,
  unpaired: v.literal(true),
});

// 8a. instructions
export const RunInstructionRequest = v.strictObject({
  text: trimmed(1, 4000),
});
export const RunInstructionResponse = v.object({
  instruction_id: Uuid,
  run_id: Uuid,
  status: v.literal("QUEUED"),
  created_at: isoTime,
});
export const RunInstructionsResponse = v.object({
  run_id: Uuid,
  instructions: v.array(v.object({
    instruction_id: Uuid,
    text: v.string(),
    created_at: isoTime,
  })),
});

// push-decision (its request: public_request_schemas.ts)
export const PushDecisionResponse = v.pipe(
  ApprovalDecisionResponse,
  v.description("the decision, as mobile-approval-decision answers it"),
);

// push-dispatch: the outbox sweep
export const PushDispatchResponse = v.object({
  /** how many due outbox rows this sweep claimed and tried to deliver */
  attempted: count,
});

// push-config: what a web client needs to subscribe to Web Push
export const PushConfigResponse = v.object({
  /** base64url VAPID public key (the applicationServerKey), null when Web Push is off */
  vapid_public_key: v.nullable(v.string()),
});

// Rules (issue 15)
export const RuleCreateRequest = v.strictObject({
  workspace_id: uuid,
  effect: RuleEffect,
  match: RuleMatch,
  value: trimmed(1, 2000),
  expires_in_seconds: ruleLifetime,
  note: v.optional(v.pipe(v.string(), v.maxLength(500))),
  device_id: v.optional(uuid),
});
export const RuleResponse = v.object({
  rule_id: Uuid,
  workspace_id: Uuid,
  effect: RuleEffect,
  match: RuleMatch,
  value: v.string(),
  /** the rule's simple commands, normalized: what the hook runner matches */
  words: v.array(v.array(v.string())),
  note: v.nullable(v.string()),
  source_approval_id: v.nullable(Uuid),
  created_by_device_id: v.nullable(Uuid),
  created_at: isoTime,
  expires_at: isoTime,
  revoked_at: v.nullable(isoTime),
});
export const RulesQuery = v.object({ workspace_id: uuid });
export const RulesListResponse = v.object({
  workspace_id: Uuid,
  rules: v.array(RuleResponse),
});
export const BridgeRulesResponse = v.object({
  /** the hash of the active set; also the ETag */
  version: v.string(),
  rules: v.array(RuleResponse),
});

// The web app's reads (issue 18, docs/web-api.md)
const longPollWait = queryInt(0, 30, 0);
export const MobileInboxQuery = v.object({
  wait: longPollWait,
  since: v.optional(
    v.pipe(v.string(), v.regex(/^[0-9a-f]{32}$/, "must be the cursor of an earlier answer")),
  ),
  recent: queryInt(0, 50, 20),
});
export const Risk = v.picklist(["read_only", "other", "dangerous"]);
export const InboxItem = v.object({
  approval_id: Uuid,
  workspace_id: Uuid,
  project_name: v.string(),
  run_id: Uuid,
  agent: v.nullable(v.string()),
  command: v.string(),
  context: v.nullable(v.record(v.string(), v.unknown())),
  status: ApprovalStatus,
  requested_at: isoTime,
  expires_at: isoTime,
  decided_at: v.nullable(isoTime),
  note: v.nullable(v.string()),
  decided_by_device_id: v.nullable(Uuid),
  /** the waiting hook runner received the decision ("the agent has your answer") */
  delivered_at: v.nullable(isoTime),
  devices_notified: count,
  requires_unlock: v.boolean(),
  /** the server's command policy (shared/command_policy.ts) */
  risk: Risk,
  risk_reason: v.string(),
});
export const MobileInboxResponse = v.object({
  /** changes exactly when what is shown changes; pass it as `since` to long-poll */
  cursor: v.string(),
  server_time: isoTime,
  workspace_ids: v.array(Uuid),
  pending: v.array(InboxItem),
  recent: v.array(InboxItem),
});
export const MobileRunsQuery = v.object({
  workspace_id: v.optional(uuid),
  limit: queryInt(1, 100, 50),
});
const MobileRun = v.object({
  run_id: Uuid,
  workspace_id: Uuid,
  project_name: v.string(),
  agent: v.string(),
  provider_run_id: v.nullable(v.string()),
  status: RunStatus,
  started_at: isoTime,
  ended_at: v.nullable(isoTime),
  last_event_at: isoTime,
  last_message: v.nullable(v.string()),
  last_seq: count,
  pending_approvals: count,
});
export const MobileRunsResponse = v.object({ runs: v.array(MobileRun) });
export const MobileRunEventsQuery = v.object({
  run_id: uuid,
  after_seq: queryInt(0, 2147483647, 0),
  limit: queryInt(1, 500, 100),
  wait: longPollWait,
});
const TimelineEvent = v.object({
  event_id: Uuid,
  seq: int(1),
  type: v.string(),
  provider: v.nullable(v.string()),
  /** canonical text, as hashed: YYYY-MM-DDTHH:MM:SS.ffffffZ */
  event_ts: isoTime,
  created_at: isoTime,
  /** the payload exactly as hashed (Postgres jsonb text): JSON.parse it to read it */
  payload_text: v.string(),
  prev_hash: v.nullable(v.string()),
  hash: v.string(),
});
export const MobileRunEventsResponse = v.object({
  run_id: Uuid,
  workspace_id: Uuid,
  project_name: v.string(),
  run_status: RunStatus,
  last_seq: count,
  last_hash: v.nullable(v.string()),
  events: v.array(TimelineEvent),
  has_more: v.boolean(),
});
export const MobileWorkspacesResponse = v.object({
  devices: v.array(DeviceResponse),
  workspaces: v.array(v.object({
    workspace_id: Uuid,
    project_name: v.string(),
    created_at: isoTime,
    /** the user's own devices paired there */
    devices: v.array(v.object({
      device_id: Uuid,
      device_name: v.nullable(v.string()),
      platform: Platform,
      paired_at: isoTime,
    })),
    pending_approvals: count,
    last_run_at: v.nullable(isoTime),
  })),
});
// dev-sign-in: the local stack's stand-in for anonymous sign-in
// valibot's object schemas take an array as an object: every other body refuses one by its
// missing required fields; this one, all optional, refuses it here (as zod did).
export const DevSignInRequest = v.pipe(
  v.custom<Record<string, unknown>>(isObject, "Invalid type: Expected Object"),
  v.strictObject({ user_id: v.optional(uuid) }),
);
export const DevSignInResponse = v.object({
  access_token: v.string(),
  token_type: v.literal("bearer"),
  expires_in: int(-Number.MAX_SAFE_INTEGER),
  /** unix seconds */
  expires_at: int(-Number.MAX_SAFE_INTEGER),
  user: v.object({
    id: Uuid,
    aud: v.literal("authenticated"),
    role: v.literal("authenticated"),
    is_anonymous: v.literal(true),
  }),
});
