// The response shapes the app reads (docs/web-api.md, docs/contract/api.md), derived from the API's
// valibot schemas (shared/api_schemas.ts) with `import type` only: no valibot in the app's bundle,
// and one definition of each shape.
import type {
  ApprovalDecisionResponse,
  DeviceResponse,
  InboxItem as InboxItemSchema,
  MobileInboxResponse,
  MobileRunEventsResponse,
  MobileRunsResponse,
  MobileWorkspacesResponse,
  PairCompleteResponse,
  PushConfigResponse,
} from "../../shared/api_schemas.ts";
import type * as v from "valibot";

export type InboxItem = v.InferOutput<typeof InboxItemSchema>;
export type ApprovalStatus = InboxItem["status"];
export type Inbox = v.InferOutput<typeof MobileInboxResponse>;
export type Runs = v.InferOutput<typeof MobileRunsResponse>;
export type Run = Runs["runs"][number];
export type RunStatus = Run["status"];
export type RunEvents = v.InferOutput<typeof MobileRunEventsResponse>;
export type TimelineEvent = RunEvents["events"][number];
export type Device = v.InferOutput<typeof DeviceResponse>;
export type Workspaces = v.InferOutput<typeof MobileWorkspacesResponse>;
export type Workspace = Workspaces["workspaces"][number];
export type Decision = v.InferOutput<typeof ApprovalDecisionResponse>;
export type PairResult = v.InferOutput<typeof PairCompleteResponse>;
export type PushConfig = v.InferOutput<typeof PushConfigResponse>;
