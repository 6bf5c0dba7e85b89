// The hook runner of bench/push.ts, in a Worker so that its request's latency is not
// stretched by the push work the server does on its own thread right after answering
// (in life the runner is another process). Sends one signed bridge-approval-request per
// message; stamps are wall-clock ms (performance.timeOrigin + now()).
import { signedHeaders } from "../shared/signing.ts";

export interface PushClientRequest {
  functionsUrl: string;
  workspaceId: string;
  secret: string;
  runId: string;
  i: number;
}

export interface PushClientResult {
  status: number;
  /** sent, and the response's headers received */
  t0: number;
  t1: number;
}

const worker = self as unknown as {
  onmessage: (message: MessageEvent<PushClientRequest>) => void;
  postMessage: (result: PushClientResult) => void;
};
const wall = () => performance.timeOrigin + performance.now();

worker.onmessage = async (message: MessageEvent<PushClientRequest>) => {
  const { functionsUrl, workspaceId, secret, runId, i } = message.data;
  const body = JSON.stringify({
    run_id: runId,
    command: `npm run build #${i}`,
    cwd: "/work/app",
  });
  const headers = await signedHeaders({
    workspaceId,
    secret,
    method: "POST",
    path: "/bridge-approval-request",
    body,
  });
  const t0 = wall();
  const res = await fetch(`${functionsUrl}/bridge-approval-request`, {
    method: "POST",
    headers: { ...headers, "content-type": "application/json" },
    body,
  });
  const t1 = wall();
  await res.body?.cancel();
  worker.postMessage({ status: res.status, t0, t1 });
};
