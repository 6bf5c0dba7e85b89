// The isolate's one LISTEN connection, shared by the waiters (approval_decided for
// bridge-approval-wait, workspace_paired for pair-status?wait). It opens lazily on the first
// park, on SUPABASE_DB_URL (the pooler in transaction mode cannot LISTEN), LISTENs on every
// subscribed channel, and tells each subscriber up / down / notify(payload):
//
// - up: LISTEN is in place (first open, after a reconnect, after an idle close): the
//   subscriber re-reads everything parked once (what happened while nobody listened);
// - down: the connection is gone: the subscriber's batched poll alone wakes its parked;
// - notify: a NOTIFY on its channel (the payload is only an id, never believed).
//
// A lost connection is warned about and reopened at once while something is parked, then
// every LISTEN_RETRY_MS while that fails (one warning per pause). When nothing has been
// parked with any subscriber for idleCloseMs (LISTEN_IDLE_CLOSE_SECONDS; 0 = never), the
// connection is ended cleanly: no warning, no reconnect, reopened on the next park.
import type postgres from "postgres";
import { createIdleCloser } from "./connection_budget.ts";
import { loadPostgres, reconnectBackoff, type Sql } from "./db.ts";
import type { Logger } from "./logger.ts";

/** application_name of the LISTEN connection (find it in pg_stat_activity) */
export const LISTEN_APPLICATION_NAME = "agentops-waiter";
/** pause between attempts to LISTEN after one failed (the waiters poll meanwhile) */
const LISTEN_RETRY_MS = 5_000;
const CHANNEL_RE = /^[a-z_][a-z0-9_]*$/;

export interface ChannelHandlers {
  up(): void;
  down(): void;
  notify(payload: string): void;
}

/** One subscriber's view: it says when it holds parked requests and when it holds none. */
interface Subscription {
  /** something is parked: open the connection unless it is up, opening or in a retry
   * pause, and keep it from closing idle (call it on every park; cheap) */
  busy(): void;
  /** nothing of this subscriber is parked any more */
  idle(): void;
}

interface ListenerStats {
  listening: boolean;
  /** connections opened (first open, reconnects, reopens after an idle close) */
  opens: number;
  /** idle closes */
  idleCloses: number;
}

export interface Listener {
  /** adds a channel; every subscriber's channel is LISTENed on the one connection */
  subscribe(channel: string, handlers: ChannelHandlers): Subscription;
  readonly listening: boolean;
  stats(): ListenerStats;
  /** ends the connection and every timer for good */
  close(): Promise<void>;
}

interface ListenerOptions {
  /** the direct database connection (SUPABASE_DB_URL) */
  url: string;
  log: Logger;
  /** false: never opens (APPROVAL_WAIT_LISTEN=false): the waiters poll only */
  enabled?: boolean;
  /** close after this long with nothing parked (0: never; default 0) */
  idleCloseMs?: number;
}

interface Sub {
  channel: string;
  handlers: ChannelHandlers;
  busy: boolean;
}

export function createListener(options: ListenerOptions): Listener {
  const { log } = options;
  const enabled = options.enabled ?? true;
  const subs: Sub[] = [];
  let sql: Sql | undefined;
  /** bumped when a client is dropped on purpose: its late callbacks are ignored */
  let generation = 0;
  let listening = false;
  let starting = false;
  let stopped = false;
  let lost = false;
  let nextAttempt = 0;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let opens = 0;
  let idleCloses = 0;
  const idleCloser = createIdleCloser({ idleMs: options.idleCloseMs ?? 0, close: closeIdle });

  const anyBusy = () => subs.some((s) => s.busy);

  function ensure(): void {
    if (!enabled || stopped || listening || starting || Date.now() < nextAttempt) return;
    open();
  }

  function open(): void {
    starting = true;
    opens++;
    const gen = generation;
    // `onnotify` is the hook postgres.js's own sql.listen() is built on (src/index.js,
    // 3.4.x, pinned); sql.listen() itself hides the connection's close, which we need.
    // The client is kept across reconnects (its next query connects again) and replaced
    // only after an idle close.
    const listenOptions = {
      max: 1,
      prepare: false,
      max_lifetime: null,
      connect_timeout: 5,
      fetch_types: false,
      backoff: reconnectBackoff,
      onnotice: () => {},
      onnotify: (channel: string, payload: string) => {
        if (gen !== generation) return;
        for (const s of subs) if (s.channel === channel) s.handlers.notify(payload);
      },
      onclose: () => {
        if (gen === generation) onClosed();
      },
      connection: { application_name: LISTEN_APPLICATION_NAME },
    };
    const channels = [...new Set(subs.map((s) => s.channel))];
    // postgres.js is imported on the first open (db.ts: not at start)
    const client = sql ? Promise.resolve(sql) : loadPostgres().then((connect) => {
      if (gen !== generation) throw new Error("the LISTEN client was dropped meanwhile");
      return sql ??= connect(options.url, listenOptions as postgres.Options<never>);
    });
    client.then((c) => Promise.all(channels.map((ch) => c.unsafe(`listen ${ch}`)))).then(() => {
      if (gen !== generation) return;
      starting = false;
      if (stopped) return;
      listening = true;
      if (lost) log.info("LISTEN connection back", { channels });
      lost = false;
      for (const s of subs) s.handlers.up();
    }, (error) => {
      if (gen !== generation) return;
      starting = false;
      if (stopped) return;
      // Polling meanwhile; try again after a pause (and say so once per pause, not per poll).
      const now = Date.now();
      if (nextAttempt <= now) log.warn("cannot LISTEN; the waiters poll", { error: String(error) });
      nextAttempt = now + LISTEN_RETRY_MS;
      scheduleRetry(LISTEN_RETRY_MS);
    });
  }

  function onClosed(): void {
    if (stopped || !listening) return; // a failed attempt: its rejection schedules the retry
    listening = false;
    lost = true;
    log.warn("lost the LISTEN connection; the waiters poll until it is back");
    for (const s of subs) s.handlers.down();
    // Come back at once while something is parked (else on the next park).
    scheduleRetry(0);
  }

  function scheduleRetry(delayMs: number): void {
    if (stopped || !anyBusy() || retryTimer !== undefined) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      if (anyBusy()) ensure();
    }, delayMs);
  }

  function clearRetry(): void {
    if (retryTimer !== undefined) clearTimeout(retryTimer);
    retryTimer = undefined;
  }

  /** Ends the client on purpose: not a lost connection (no warning, no reconnect). */
  function drop(): Promise<void> {
    const client = sql;
    sql = undefined;
    generation++;
    const was = listening;
    listening = starting = false;
    clearRetry();
    if (was) { for (const s of subs) s.handlers.down(); }
    return client ? client.end({ timeout: 1 }).catch(() => {}) : Promise.resolve();
  }

  function closeIdle(): Promise<void> | void {
    if (stopped || anyBusy() || !sql) return;
    idleCloses++;
    return drop();
  }

  return {
    subscribe(channel, handlers) {
      if (!CHANNEL_RE.test(channel)) throw new Error(`not a channel name: ${channel}`);
      const sub: Sub = { channel, handlers, busy: false };
      subs.push(sub);
      // Joining a connection that is already up: LISTEN on it too.
      if (listening && sql) {
        const gen = generation;
        sql.unsafe(`listen ${channel}`).then(() => {
          if (gen === generation && listening) handlers.up();
        }, () => {/* the connection went: its close says so */});
      }
      return {
        busy() {
          if (!sub.busy) {
            sub.busy = true;
            idleCloser.busy();
          }
          ensure();
        },
        idle() {
          if (!sub.busy) return;
          sub.busy = false;
          if (anyBusy()) return;
          clearRetry();
          idleCloser.idle();
        },
      };
    },
    get listening() {
      return listening;
    },
    stats: () => ({ listening, opens, idleCloses }),
    async close() {
      stopped = true;
      idleCloser.cancel();
      await drop();
    },
  };
}
