// The response shapes the app reads (docs/web-api.md, docs/contract/api.md), derived from the API's
// zod schemas (shared/api_schemas.ts) with `import type` only: no zod in the app's bundle,
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
import type { z } from "zod";

export type InboxItem = z.output<typeof InboxItemSchema>;
export type ApprovalStatus = InboxItem["status"];
export type Inbox = z.output<typeof MobileInboxResponse>;
export type Runs = z.output<typeof MobileRunsResponse>;
export type Run = Runs["runs"][number];
export type RunStatus = Run["status"];
export type RunEvents = z.output<typeof MobileRunEventsResponse>;
export type TimelineEvent = RunEvents["events"][number];
export type Device = z.output<typeof DeviceResponse>;
export type Workspaces = z.output<typeof MobileWorkspacesResponse>;
export type Workspace = Workspaces["workspaces"][number];
export type Decision = z.output<typeof ApprovalDecisionResponse>;
export type PairResult = z.output<typeof PairCompleteResponse>;
export type PushConfig = z.output<typeof PushConfigResponse>;
