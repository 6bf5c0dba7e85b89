// The phone of bench/approval.ts, in a Worker so that the decisions are sent (and their
// stamps taken) off the thread of the functions they wake: paced at `perSecond`, each one
// either the HTTP request the phone sends (POST /mobile-approval-decision/<id> with the
// user's token) or the SQL call that endpoint makes (private.decide_approval, on the
// Worker's own connection), alternating, so both are measured in the same run. Stamps are
// wall-clock ms (performance.timeOrigin + now(), comparable across threads).
import postgres from "postgres";

export interface DeciderRequest {
  functionsUrl: string;
  databaseUrl: string;
  token: string;
  userId: string;
  ids: string[];
  perSecond: number;
  /** the ways of sending, in turn (default both: HTTP, then the SQL call) */
  arms?: ("http" | "sql")[];
}

export interface DeciderResult {
  /** how each decision was sent ("http" or "sql") */
  via: ("http" | "sql")[];
  /** sent, and its answer (HTTP response read, or SQL call returned) */
  sentAt: number[];
  doneAt: number[];
  failures: string[];
}

const worker = self as unknown as {
  onmessage: (message: MessageEvent<DeciderRequest>) => void;
  postMessage: (result: DeciderResult | { ready: true }) => void;
};
const wall = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

worker.onmessage = async (message: MessageEvent<DeciderRequest>) => {
  const { functionsUrl, databaseUrl, token, userId, ids, perSecond } = message.data;
  const sql = postgres(databaseUrl, { max: 4, prepare: false, onnotice: () => {} });
  // warm both paths (the connections, the endpoint's first request) on no approval
  await Promise.all(Array.from({ length: 4 }, () => sql`select 1`));
  const warm = await fetch(`${functionsUrl}/mobile-approval-decision/${crypto.randomUUID()}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ decision: "APPROVE" }),
  });
  await warm.body?.cancel();
  // ready: the caller takes its CPU stamps (every connection is open now), then says go
  const go = new Promise<void>((resolve) => (worker.onmessage = () => resolve()));
  worker.postMessage({ ready: true });
  await go;

  const arms = message.data.arms ?? ["http", "sql"];
  const via = ids.map((_, i) => arms[i % arms.length]);
  const sentAt = new Array<number>(ids.length).fill(NaN);
  const doneAt = new Array<number>(ids.length).fill(NaN);
  const failures: string[] = [];
  const pending: Promise<void>[] = [];
  const start = performance.now();
  for (const [i, id] of ids.entries()) {
    const wait = start + (i * 1000) / perSecond - performance.now();
    if (wait > 1) await sleep(wait);
    sentAt[i] = wall();
    pending.push(
      (via[i] === "http"
        ? fetch(`${functionsUrl}/mobile-approval-decision/${id}`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: JSON.stringify({ decision: "APPROVE", note: "go ahead" }),
        }).then(async (res) => {
          const body = await res.text();
          if (res.status !== 200) failures.push(`${id}: HTTP ${res.status} ${body}`);
        })
        : sql`select private.decide_approval(${userId}::uuid, ${id}::uuid, 'APPROVE',
                                             'go ahead', null)`.execute().then(() => {}))
        .then(() => {
          doneAt[i] = wall();
        }, (error) => {
          failures.push(`${id}: ${error}`);
        }),
    );
  }
  await Promise.all(pending);
  // the connections stay open until the Worker is terminated: the caller reads their
  // backends' CPU time first
  worker.postMessage({ via, sentAt, doneAt, failures });
};
