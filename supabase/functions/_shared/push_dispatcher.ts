// Delivers the push outbox (docs/contract/push.md): claims due rows (private.claim_push_batch),
// hands each to its provider with a timeout, and records every outcome on the row
// (private.record_push_result). deliverSoon() runs a sweep after the current response
// (deps.background: EdgeRuntime.waitUntil on Supabase); the sweep is also what pg_cron
// (through push-dispatch) and the local server's timer call. Nothing here is needed for
// correctness across isolates: the rows, their leases and `skip locked` are.
import type { Config } from "./config.ts";
import { callJson, type Sql } from "./db.ts";
import { type Logger, redact } from "./logger.ts";
import { createPushSenders, type PushSenders } from "./push_senders.ts";
import type { PushJob, PushOutcome, PushSender } from "./push_types.ts";

export interface PushDispatcher {
  /** delivers due outbox rows soon, after the current response */
  deliverSoon(): void;
  /** delivers every due row now; returns how many were attempted */
  sweep(): Promise<number>;
  close(): Promise<void>;
}

/** What the dispatcher uses of the isolate's deps (deps.ts builds it from them). */
interface PushDispatcherDeps {
  config: Config;
  sql: Sql;
  log: Logger;
  now: () => number;
  /** keeps the sweep alive after the response (EdgeRuntime.waitUntil on Supabase) */
  background: (task: Promise<unknown>) => void;
}

interface PushDispatcherOptions {
  fetch?: typeof fetch;
  /** rows claimed per round (default 50) */
  batchSize?: number;
  /** provider calls in flight at once (default 16) */
  concurrency?: number;
  /** a claimed row's lease, after which another sweeper may take it (default 60 s) */
  leaseSeconds?: number;
}

const MAX_ROUNDS = 20;

export function createPushDispatcher(
  deps: PushDispatcherDeps,
  options: PushDispatcherOptions = {},
): PushDispatcher {
  const log = deps.log.child({ component: "push" });
  const senders: PushSenders = createPushSenders(deps.config, {
    fetch: options.fetch ?? fetch,
    log,
    now: deps.now,
  });
  const batchSize = options.batchSize ?? 50;
  const concurrency = options.concurrency ?? 16;
  const leaseSeconds = Math.max(
    options.leaseSeconds ?? 60,
    Math.ceil(deps.config.PUSH_PROVIDER_TIMEOUT_MS / 1000) * 3,
  );
  const closing = new AbortController();
  const running = new Set<Promise<unknown>>();
  let scheduled = false;
  let again = false;

  if (senders.mode === "log") {
    log.info("push: no FCM or APNs credentials configured; using the log provider");
  }

  function track<T>(p: Promise<T>): Promise<T> {
    running.add(p);
    p.finally(() => running.delete(p)).catch(() => {});
    return p;
  }

  async function attempt(sender: PushSender, job: PushJob): Promise<PushOutcome> {
    const signal = AbortSignal.any([
      closing.signal,
      AbortSignal.timeout(deps.config.PUSH_PROVIDER_TIMEOUT_MS),
    ]);
    try {
      return await sender.send(job, signal);
    } catch (error) {
      if (closing.signal.aborted) {
        return { result: "released", provider: sender.name, error: "the sender shut down" };
      }
      const timedOut = error instanceof DOMException &&
        (error.name === "TimeoutError" || error.name === "AbortError");
      return {
        result: "retry",
        provider: sender.name,
        error: timedOut
          ? `${sender.name}: no answer within ${deps.config.PUSH_PROVIDER_TIMEOUT_MS} ms`
          : `${sender.name}: ${error instanceof Error ? error.message : String(error)}`,
        reason: timedOut ? "timeout" : "network",
      };
    }
  }

  function report(job: PushJob, outcome: PushOutcome, recorded: Record<string, unknown>) {
    const fields = {
      outbox_id: job.id,
      kind: job.kind,
      device_id: job.device_id,
      provider: outcome.provider,
      token: redact(job.token),
      attempt: job.attempts,
      outcome: outcome.result,
      status: recorded.status,
      http_status: outcome.http_status,
      error: outcome.error,
    };
    switch (outcome.result) {
      case "sent":
        log.debug("push delivered", fields);
        break;
      case "config_error":
        // loud: nothing will arrive until someone fixes the configuration
        log.error("push configuration error (token kept)", fields);
        break;
      case "dead_token":
      case "invalid_argument":
        log.warn(
          recorded.token_cleared ? "push token is dead: cleared" : "push token kept",
          fields,
        );
        break;
      case "rejected":
        log.error("push rejected by the provider", fields);
        break;
      default:
        log.warn(`push not delivered (${outcome.result})`, fields);
    }
  }

  async function deliver(job: PushJob): Promise<void> {
    const chosen = senders.forJob(job);
    const outcome = "send" in chosen ? await attempt(chosen, job) : chosen;
    const recorded = await callJson<Record<string, unknown>>(
      deps.sql,
      "private.record_push_result($1::bigint, $2::jsonb)",
      // an object, not a JSON string: postgres.js serialises it for a jsonb parameter (a
      // string would arrive as a jsonb string scalar)
      [job.id, outcome],
    );
    report(job, outcome, recorded);
  }

  async function deliverAll(jobs: PushJob[]): Promise<void> {
    let next = 0;
    const workers = Array.from({ length: Math.min(concurrency, jobs.length) }, async () => {
      while (next < jobs.length) {
        const job = jobs[next++];
        try {
          await deliver(job);
        } catch (error) {
          // the row keeps its lease and is retried when it runs out
          log.error("push outcome not recorded", { outbox_id: job.id, error: String(error) });
        }
      }
    });
    await Promise.all(workers);
  }

  async function sweepOnce(): Promise<number> {
    let attempted = 0;
    for (let round = 0; round < MAX_ROUNDS && !closing.signal.aborted; round++) {
      const jobs = await callJson<PushJob[]>(
        deps.sql,
        // due reminders queued (claim_due_reminders), then claim_push_batch, plus a fresh
        // decision token in every approval push: one round trip
        "private.claim_push_jobs($1::integer, $2::integer)",
        [batchSize, leaseSeconds],
      );
      attempted += jobs.length;
      await deliverAll(jobs);
      if (jobs.length < batchSize) break;
    }
    return attempted;
  }

  function sweep(): Promise<number> {
    if (closing.signal.aborted) return Promise.resolve(0);
    return track(sweepOnce());
  }

  async function drain(): Promise<void> {
    // a macrotask first: the response that called deliverSoon() goes out before any work
    await new Promise((resolve) => setTimeout(resolve, 0));
    try {
      do {
        again = false;
        await sweep();
      } while (again && !closing.signal.aborted);
    } finally {
      scheduled = false;
    }
  }

  function deliverSoon(): void {
    if (closing.signal.aborted) return;
    if (scheduled) {
      again = true;
      return;
    }
    scheduled = true;
    deps.background(track(drain()));
  }

  async function close(): Promise<void> {
    closing.abort();
    while (running.size) await Promise.allSettled([...running]);
  }

  return { deliverSoon, sweep, close };
}
