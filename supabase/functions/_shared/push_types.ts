// The shapes the push path passes around: an outbox row claimed for delivery (a job), the
// provider-neutral message the SQL wrote, a sender, and the outcome it reports back to
// private.record_push_result.

/** The provider-neutral message of private.push_outbox.message. */
interface PushMessage {
  title?: string;
  body?: string;
  data?: Record<string, unknown>;
  collapse_id?: string;
  category?: string;
  time_sensitive?: boolean;
  priority?: "high" | "normal";
  silent?: boolean;
}

/** One outbox row claimed by private.claim_push_batch, with the device's current token. */
export interface PushJob {
  id: number;
  kind: "approval" | "approval_clear" | "run";
  device_id: string;
  workspace_id: string;
  approval_id: string | null;
  run_id: string | null;
  message: PushMessage;
  expires_at: string | null;
  attempts: number;
  created_at: string;
  platform: "ios" | "android" | "web";
  provider: "fcm" | "apns" | "webpush";
  token: string;
  token_updated_at: string | null;
}

type ProviderName = "fcm" | "apns" | "webpush" | "log";

/** What one delivery attempt came to; recorded by private.record_push_result. */
export type PushOutcome =
  & { provider: ProviderName; http_status?: number; error?: string; reason?: string }
  & (
    | { result: "sent"; provider_message_id?: string }
    | { result: "retry"; retry_after?: number }
    | { result: "dead_token"; token: string; unregistered_at?: string }
    | { result: "invalid_argument"; token: string }
    | { result: "config_error"; retryable: boolean }
    | { result: "rejected" }
    | { result: "released" }
  );

export interface PushSender {
  readonly name: ProviderName;
  /** One attempt; never throws for a provider's answer (network errors may throw). */
  send(job: PushJob, signal: AbortSignal): Promise<PushOutcome>;
}

/** Seconds to wait from a Retry-After header (delta-seconds or an HTTP date). */
export function parseRetryAfter(value: string | null, nowMs = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - nowMs) / 1000));
}

/** Reads a response body as JSON, or undefined when it is not JSON. */
export async function readJson(res: Response): Promise<unknown> {
  const text = await res.text();
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
