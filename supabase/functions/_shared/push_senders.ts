// Picks a sender per device from the configuration: FCM HTTP v1 and/or APNs when their
// credentials are set; with no push credentials at all, the `log` provider (the local
// default) writes each notification to the structured log. Misconfiguration fails at
// startup with a message naming the variable.
import type { Config } from "./config.ts";
import { redact } from "./logger.ts";
import type { Logger } from "./logger.ts";
import { createFcmSender, parseServiceAccount } from "./fcm.ts";
import { APNS_PRODUCTION, APNS_SANDBOX, createApnsSender } from "./apns.ts";
import type { PushJob, PushOutcome, PushSender } from "./push_types.ts";
import { createWebPushSender } from "./webpush.ts";

export interface PushSenders {
  /** "log" when no credentials are configured */
  mode: "providers" | "log";
  fcm?: PushSender;
  apns?: PushSender;
  webpush?: PushSender;
  log: PushSender;
  /** the sender for a device, or an outcome saying why there is none */
  forJob(job: PushJob): PushSender | PushOutcome;
}

/** The message's data for a log line: the decision token is a credential. */
function redactData(data: Record<string, unknown> | undefined) {
  if (!data || typeof data.decision_token !== "string") return data;
  return { ...data, decision_token: redact(data.decision_token) };
}

function createLogSender(log: Logger): PushSender {
  return {
    name: "log",
    send(job: PushJob): Promise<PushOutcome> {
      log.info("push (log provider: no push credentials configured)", {
        outbox_id: job.id,
        kind: job.kind,
        device_id: job.device_id,
        device_provider: job.provider,
        token: redact(job.token),
        title: job.message.title,
        body: job.message.body,
        silent: job.message.silent ?? false,
        collapse_id: job.message.collapse_id,
        data: redactData(job.message.data),
      });
      return Promise.resolve({ result: "sent", provider: "log" });
    },
  };
}

const APNS_VARS = ["APNS_PRIVATE_KEY", "APNS_KEY_ID", "APNS_TEAM_ID", "APNS_BUNDLE_ID"] as const;
const VAPID_VARS = ["VAPID_PUBLIC_KEY", "VAPID_PRIVATE_KEY", "VAPID_SUBJECT"] as const;

export function createPushSenders(
  config: Config,
  options: { fetch: typeof fetch; log: Logger; now?: () => number },
): PushSenders {
  const { fetch, log, now } = options;
  const fcm = config.FCM_SERVICE_ACCOUNT_JSON
    ? createFcmSender({
      serviceAccount: parseServiceAccount(config.FCM_SERVICE_ACCOUNT_JSON),
      endpoint: config.FCM_ENDPOINT,
      fetch,
      log,
      now,
    })
    : undefined;
  const setApns = APNS_VARS.filter((name) => config[name]);
  if (setApns.length > 0 && setApns.length < APNS_VARS.length) {
    const missing = APNS_VARS.filter((name) => !config[name]);
    throw new Error(
      `Invalid configuration: ${missing.join(", ")}: APNs token auth needs all of ` +
        `${APNS_VARS.join(", ")} (only ${setApns.join(", ")} set)`,
    );
  }
  const apns = setApns.length
    ? createApnsSender({
      privateKey: config.APNS_PRIVATE_KEY!.replaceAll("\\n", "\n"),
      keyId: config.APNS_KEY_ID!,
      teamId: config.APNS_TEAM_ID!,
      bundleId: config.APNS_BUNDLE_ID!,
      environment: config.APNS_ENV,
      endpoint: config.APNS_ENDPOINT ??
        (config.APNS_ENV === "sandbox" ? APNS_SANDBOX : APNS_PRODUCTION),
      fetch,
      log,
      now,
    })
    : undefined;
  const setVapid = VAPID_VARS.filter((name) => config[name]);
  if (setVapid.length > 0 && setVapid.length < VAPID_VARS.length) {
    const missing = VAPID_VARS.filter((name) => !config[name]);
    throw new Error(
      `Invalid configuration: ${missing.join(", ")}: Web Push (VAPID) needs all of ` +
        `${VAPID_VARS.join(", ")} (only ${setVapid.join(", ")} set)`,
    );
  }
  const webpush = setVapid.length
    ? createWebPushSender({
      publicKey: config.VAPID_PUBLIC_KEY!,
      privateKey: config.VAPID_PRIVATE_KEY!,
      subject: config.VAPID_SUBJECT!,
      fetch,
      log,
      now,
    })
    : undefined;
  const logSender = createLogSender(log);
  const mode = fcm || apns || webpush ? "providers" : "log";
  return {
    mode,
    fcm,
    apns,
    webpush,
    log: logSender,
    forJob(job) {
      if (mode === "log") return logSender;
      const sender = job.provider === "apns" ? apns : job.provider === "webpush" ? webpush : fcm;
      if (sender) return sender;
      if (job.provider === "webpush") {
        return {
          result: "config_error",
          retryable: true,
          provider: "webpush",
          error: `Web Push is not configured (set ${
            VAPID_VARS.join(", ")
          }) but the device registered a PushSubscription`,
        };
      }
      return {
        result: "config_error",
        retryable: true,
        provider: job.provider,
        error: job.provider === "apns"
          ? `APNs is not configured (set ${
            APNS_VARS.join(", ")
          }) but the device registered an APNs token`
          : "FCM is not configured (set FCM_SERVICE_ACCOUNT_JSON) but the device registered an FCM token",
      };
    },
  };
}
