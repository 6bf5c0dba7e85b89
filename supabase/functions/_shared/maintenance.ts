// Timers the local server runs in place of pg_cron: the push sweep (retries with backoff)
// and the retention job.
import type { Deps } from "./deps.ts";

export function startMaintenance(
  deps: Deps,
  options: { sweepMs?: number; purgeMs?: number } = {},
): { stop(): void } {
  const sweep = setInterval(() => {
    deps.push.sweep().catch((error) =>
      deps.log.warn("push sweep failed", { error: String(error) })
    );
  }, options.sweepMs ?? 5_000);
  const purge = setInterval(() => {
    deps.sql`select private.purge_expired(${deps.config.EVENT_RETENTION_DAYS ?? null}::integer)`
      .catch((error) => deps.log.warn("retention job failed", { error: String(error) }));
  }, options.purgeMs ?? 10 * 60_000);
  return {
    stop() {
      clearInterval(sweep);
      clearInterval(purge);
    },
  };
}
