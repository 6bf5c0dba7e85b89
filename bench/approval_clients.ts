// The parked hook runners of bench/approval.ts, in a Worker so that the long-poll clients
// do not share a thread with the server they measure: one signed GET
// /bridge-approval-wait/<id> per approval, each answer's arrival stamped in wall-clock
// milliseconds (performance.timeOrigin + now(), comparable across threads).
import { signedHeaders } from "../shared/signing.ts";

export interface ClientsRequest {
  functionsUrl: string;
  workspaceId: string;
  secret: string;
  ids: string[];
  timeoutSeconds: number;
}

export interface ClientsResult {
  /** wall-clock ms at which each answer's body was read (NaN: none) */
  answeredAt: number[];
  statuses: string[];
}

const worker = self as unknown as {
  onmessage: (message: MessageEvent<ClientsRequest>) => void;
  postMessage: (result: ClientsResult | { sent: number }) => void;
};

worker.onmessage = async (message: MessageEvent<ClientsRequest>) => {
  const { functionsUrl, workspaceId, secret, ids, timeoutSeconds } = message.data;
  const answeredAt = new Array<number>(ids.length).fill(NaN);
  const statuses = new Array<string>(ids.length).fill("");
  const waits = ids.map(async (id, i) => {
    const path = `/bridge-approval-wait/${id}`;
    const query = `timeout=${timeoutSeconds}`;
    const headers = await signedHeaders({ workspaceId, secret, method: "GET", path, query });
    const res = await fetch(`${functionsUrl}${path}?${query}`, { headers });
    const body = await res.json();
    answeredAt[i] = performance.timeOrigin + performance.now();
    statuses[i] = body.status ?? `HTTP ${res.status}`;
  });
  worker.postMessage({ sent: ids.length });
  await Promise.all(waits);
  worker.postMessage({ answeredAt, statuses });
};
