// The response shapes of docs/web-api.md and SPEC section 4, as the app reads them.

export type ApprovalStatus = "PENDING" | "APPROVED" | "DENIED" | "EXPIRED";

export interface InboxItem {
  approval_id: string;
  workspace_id: string;
  project_name: string;
  run_id: string;
  agent: string | null;
  command: string;
  context: Record<string, unknown> | null;
  status: ApprovalStatus;
  requested_at: string;
  expires_at: string;
  decided_at: string | null;
  note: string | null;
  decided_by_device_id: string | null;
  delivered_at: string | null;
  devices_notified: number;
  requires_unlock: boolean;
  risk: "read_only" | "other" | "dangerous";
  risk_reason: string;
}

export interface Inbox {
  cursor: string;
  server_time: string;
  workspace_ids: string[];
  pending: InboxItem[];
  recent: InboxItem[];
}

export type RunStatus = "RUNNING" | "COMPLETED" | "FAILED" | "STOPPED";

export interface Run {
  run_id: string;
  workspace_id: string;
  project_name: string;
  agent: string;
  provider_run_id: string | null;
  status: RunStatus;
  started_at: string;
  ended_at: string | null;
  last_event_at: string;
  last_message: string | null;
  last_seq: number;
  pending_approvals: number;
}

export interface TimelineEvent {
  event_id: string;
  seq: number;
  type: string;
  provider: string | null;
  event_ts: string;
  created_at: string;
  payload: Record<string, unknown>;
  payload_text: string;
  prev_hash: string | null;
  hash: string;
}

export interface RunEvents {
  run_id: string;
  workspace_id: string;
  project_name: string;
  run_status: RunStatus;
  last_seq: number;
  last_hash: string | null;
  events: TimelineEvent[];
  has_more: boolean;
}

export interface Device {
  device_id: string;
  platform: string;
  push_provider: string;
  has_push_token: boolean;
  device_name: string | null;
  created_at: string;
  updated_at: string;
}

export interface Workspace {
  workspace_id: string;
  project_name: string;
  created_at: string;
  devices: { device_id: string; device_name: string | null; platform: string; paired_at: string }[];
  pending_approvals: number;
  last_run_at: string | null;
}

export interface Workspaces {
  devices: Device[];
  workspaces: Workspace[];
}

export interface Decision {
  approval_id: string;
  status: ApprovalStatus;
  note: string | null;
  decided_at: string;
  decided_by_device_id: string | null;
}

export interface PairResult {
  device_id: string;
  workspace_id: string;
  display_name: string;
}
