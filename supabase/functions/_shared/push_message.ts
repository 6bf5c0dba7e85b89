// Maps the provider-neutral outbox message (docs/contract/push.md#content) to what FCM HTTP v1
// and APNs expect: Android priority and TTL to expires_at, iOS category, interruption
// level, apns-expiration = expires_at, collapse ids; a silent push for "clear this
// approval's notification".
import type { PushJob } from "./push_types.ts";

/** FCM `data` values must be strings. */
function stringData(data: Record<string, unknown> = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(data)) {
    if (value === null || value === undefined) continue;
    out[key] = typeof value === "string" ? value : JSON.stringify(value);
  }
  return out;
}

function secondsUntil(iso: string | null, nowMs: number): number | undefined {
  if (!iso) return undefined;
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.floor((at - nowMs) / 1000));
}

/** APNs headers other than authorization and apns-topic (which the sender adds). */
export function apnsHeaders(job: PushJob): Record<string, string> {
  const m = job.message;
  const headers: Record<string, string> = {
    "apns-push-type": m.silent ? "background" : "alert",
    // background pushes must be priority 5; alerts go out at once
    "apns-priority": m.silent ? "5" : "10",
  };
  if (job.expires_at) {
    const at = Date.parse(job.expires_at);
    if (!Number.isNaN(at)) headers["apns-expiration"] = String(Math.floor(at / 1000));
  }
  if (m.collapse_id) headers["apns-collapse-id"] = m.collapse_id.slice(0, 64);
  return headers;
}

/** The APNs JSON payload: `aps` plus the message's data as top-level keys. */
export function apnsPayload(job: PushJob): Record<string, unknown> {
  const m = job.message;
  const custom = { ...(m.data ?? {}) };
  delete custom.aps;
  if (m.silent) return { aps: { "content-available": 1 }, ...custom };
  const aps: Record<string, unknown> = {
    alert: { title: m.title ?? "", body: m.body ?? "" },
    sound: "default",
    "thread-id": job.workspace_id,
  };
  if (m.category) aps.category = m.category;
  if (m.time_sensitive) aps["interruption-level"] = "time-sensitive";
  return { aps, ...custom };
}

/** The FCM HTTP v1 `message` (messages:send body is `{message}`), for Android and for
 * iOS devices registered through FCM (the `apns` block). */
export function fcmMessage(job: PushJob, nowMs = Date.now()): Record<string, unknown> {
  const m = job.message;
  const ttl = secondsUntil(job.expires_at, nowMs);
  const android: Record<string, unknown> = {
    // a silent "clear" must arrive while the notification is still on screen
    priority: m.priority === "high" || m.silent ? "high" : "normal",
  };
  if (ttl !== undefined) android.ttl = `${ttl}s`;
  if (m.collapse_id) android.collapse_key = m.collapse_id;
  // the same tag replaces, and lets the app cancel, the approval's notification. (No
  // click_action: on Android it names an intent filter the app would have to declare.)
  if (!m.silent && m.collapse_id) android.notification = { tag: m.collapse_id };
  const message: Record<string, unknown> = {
    token: job.token,
    data: stringData(m.data),
    android,
    apns: { headers: apnsHeaders(job), payload: apnsPayload(job) },
  };
  if (!m.silent) message.notification = { title: m.title ?? "", body: m.body ?? "" };
  return message;
}
