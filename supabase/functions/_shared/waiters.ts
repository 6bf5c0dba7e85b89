// The long-poll waiters (approvals, pairing, the web app's reads) and the LISTEN connection
// they share. deps.ts builds them on first use with the builder this module registers.
// bridge-approval-wait imports it; pair-status, mobile-inbox and mobile-run-events import it
// before their first park (load_waiters.ts): its modules cost ~3 ms of CPU on a cold
// start (issue 21, bench/FINDINGS.md).
import { registerWaiters } from "./deps.ts";
import type { Sql } from "./db.ts";
import { createApprovalWaiter } from "./approval_waiter.ts";
import { createPairingWaiter } from "./pairing_waiter.ts";
import { createListener } from "./listener.ts";
import { createReadWaiter } from "./read_waiter.ts";
import type { ReadState } from "./mobile_reads.ts";

/** createBatchRead(sql) of mobile_reads.ts, imported on the first read: pair-status and
 * bridge-approval-wait never read. */
function lazyBatchRead(sql: Sql): (keys: string[]) => Promise<Map<string, ReadState>> {
  let read: Promise<(keys: string[]) => Promise<Map<string, ReadState>>> | undefined;
  return async (keys) =>
    (await (read ??= import("./mobile_reads.ts").then((m) => m.createBatchRead(sql))))(keys);
}

registerWaiters(({ config, sql, log, now, push }) => {
  const listener = createListener({
    url: config.SUPABASE_DB_URL,
    log,
    enabled: config.APPROVAL_WAIT_LISTEN,
    idleCloseMs: config.LISTEN_IDLE_CLOSE_SECONDS * 1000,
  });
  const waiter = createApprovalWaiter({ config, sql, log, push, listener });
  const pairing = createPairingWaiter({
    sql,
    listener,
    log,
    pollMs: config.PAIR_STATUS_POLL_MS,
    maxPerWorkspace: config.PAIR_STATUS_MAX_PARKED_PER_WORKSPACE,
  });
  const reads = createReadWaiter<ReadState>({
    read: lazyBatchRead(sql),
    listener,
    log,
    now,
    pollMs: config.MOBILE_WAIT_POLL_MS,
    maxPerUser: config.MOBILE_WAIT_MAX_PARKED_PER_USER,
    maxTotal: config.MOBILE_WAIT_MAX_PARKED,
  });
  return { listener, waiter, pairing, reads };
});
