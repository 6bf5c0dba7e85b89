import { assertEquals } from "../tests/_helpers/assert.ts";
import { EventQueue } from "./queue.ts";
import { AgentOpsClient, type BridgeEvent } from "./sdk.ts";

function event(type: string): BridgeEvent {
  return {
    run_id: crypto.randomUUID(),
    provider: "claude-code",
    event_type: type,
    event_ts: new Date().toISOString(),
    payload: {},
    event_id: crypto.randomUUID(),
  };
}

Deno.test("queued events are kept on disk, oldest first, with owner-only permissions", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const queue = new EventQueue(`${dir}/queue`);
    const a = event("RUN_STARTED");
    const b = event("RUN_COMPLETED");
    queue.enqueue(a);
    queue.enqueue(b);
    const files = queue.list();
    assertEquals(files.length, 2);
    assertEquals(JSON.parse(await Deno.readTextFile(files[0])).event_id, a.event_id);
    assertEquals(JSON.parse(await Deno.readTextFile(files[1])).event_id, b.event_id);
    assertEquals((await Deno.stat(files[0])).mode! & 0o777, 0o600);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("flush() keeps every event when the backend cannot be reached", async () => {
  const dir = await Deno.makeTempDir();
  // A port that was just free: nothing listens there.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  try {
    const queue = new EventQueue(`${dir}/queue`);
    queue.enqueue(event("RUN_STARTED"));
    queue.enqueue(event("RUN_COMPLETED"));
    const client = new AgentOpsClient({
      baseUrl: `http://127.0.0.1:${port}/functions/v1`,
      workspaceId: crypto.randomUUID(),
      secret: "s",
      retry: { attempts: 2, baseDelayMs: 1, timeoutMs: 1000 },
    });
    assertEquals(await queue.flush(client), { delivered: 0, rejected: 0, remaining: 2 });
    assertEquals(queue.list().length, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an event is on disk while it is sent, sent in order, and its file removed once accepted", async () => {
  const dir = await Deno.makeTempDir();
  const queueDir = `${dir}/.agentops/queue`; // nothing there yet: the first write makes it
  const seen: { eventId: string; onDisk: boolean }[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const { event_id } = await req.json();
    const files = [...Deno.readDirSync(queueDir)].map((e) => e.name);
    seen.push({ eventId: event_id, onDisk: files.some((f) => f.endsWith(`-${event_id}.json`)) });
    return Response.json({ event_id, duplicate: false }, { status: 202 });
  });
  try {
    const queue = new EventQueue(queueDir);
    const a = event("RUN_STARTED");
    const b = event("RUN_COMPLETED");
    queue.enqueue(a);
    queue.enqueue(b);
    assertEquals((await Deno.stat(queueDir)).mode! & 0o777, 0o700);
    const client = new AgentOpsClient({
      baseUrl: `http://127.0.0.1:${server.addr.port}/functions/v1`,
      workspaceId: crypto.randomUUID(),
      secret: "s",
    });
    assertEquals(await queue.flush(client), { delivered: 2, rejected: 0, remaining: 0 });
    assertEquals(seen, [
      { eventId: a.event_id, onDisk: true },
      { eventId: b.event_id, onDisk: true },
    ]);
    assertEquals(queue.list(), []);
    // A second queue (the next hook process) finds nothing left to send.
    assertEquals(await new EventQueue(queueDir).flush(client), {
      delivered: 0,
      rejected: 0,
      remaining: 0,
    });
    assertEquals(seen.length, 2);
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("flush() delivers events another process queued, read from their files", async () => {
  const dir = await Deno.makeTempDir();
  const bodies: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const body = await req.json();
    bodies.push(body.event_id);
    return Response.json({ event_id: body.event_id, duplicate: false }, { status: 202 });
  });
  try {
    const earlier = event("RUN_STARTED");
    new EventQueue(`${dir}/queue`).enqueue(earlier); // a hook that could not send it
    const queue = new EventQueue(`${dir}/queue`); // the next hook
    const now = event("RUN_COMPLETED");
    queue.enqueue(now);
    const client = new AgentOpsClient({
      baseUrl: `http://127.0.0.1:${server.addr.port}/functions/v1`,
      workspaceId: crypto.randomUUID(),
      secret: "s",
    });
    assertEquals(await queue.flush(client), { delivered: 2, rejected: 0, remaining: 0 });
    assertEquals(bodies, [earlier.event_id, now.event_id]);
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
