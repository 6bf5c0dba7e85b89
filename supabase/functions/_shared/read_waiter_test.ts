// Unit tests of the read waiter with a stand-in listener and a read it controls: a NOTIFY
// reads again only the keys of the requests it concerns, a request parked during a read
// never takes that older answer, a user holds a few places at most, and an expiry re-reads.
import { assert, assertEquals } from "../../../tests/_helpers/assert.ts";
import { eventually } from "../../../tests/_helpers/approvals.ts";
import { HttpError } from "./http_error.ts";
import type { ChannelHandlers, Listener } from "./listener.ts";
import { createLogger } from "./logger.ts";
import { APPROVALS_CHANGED_CHANNEL, createReadWaiter } from "./read_waiter.ts";
import { WORKSPACE_PAIRED_CHANNEL } from "./pairing_waiter.ts";

const WS = "11111111-1111-4111-8111-111111111111";
const OTHER_WS = "22222222-2222-4222-8222-222222222222";

function standIn() {
  const handlers: Record<string, ChannelHandlers> = {};
  const listener: Listener = {
    subscribe(channel, h) {
      handlers[channel] = h;
      return { busy() {}, idle() {} };
    },
    listening: true,
    stats: () => ({ listening: true, opens: 1, idleCloses: 0 }),
    close: () => Promise.resolve(),
  };
  return {
    listener,
    handlers,
    notify: (p: string) => handlers[APPROVALS_CHANGED_CHANNEL].notify(p),
  };
}

/** A read whose answers the test sets, and that it can hold open. */
function controlledRead() {
  const state = new Map<string, number>();
  const asked: string[][] = [];
  let gate: Promise<void> = Promise.resolve();
  return {
    state,
    asked,
    hold() {
      let open = () => {};
      gate = new Promise((r) => (open = r));
      return () => open();
    },
    async read(keys: string[]) {
      asked.push([...keys].sort());
      const snapshot = new Map(keys.map((k) => [k, state.get(k) ?? 0]));
      await gate;
      return snapshot;
    },
  };
}

/** A read waiter over the stand-in listener and a controlled read, its poll a minute away
 * (only NOTIFY and recheckAt can answer within a test); `fn` runs, then it is closed. */
async function withWaiter(
  options: { maxPerUser?: number; maxTotal?: number },
  fn: (
    w: ReturnType<typeof createReadWaiter<number>>,
    t: { r: ReturnType<typeof controlledRead>; notify: (p: string) => void },
  ) => Promise<void>,
): Promise<void> {
  const { listener, notify } = standIn();
  const r = controlledRead();
  const waiter = createReadWaiter<number>({
    read: r.read,
    listener,
    log: createLogger("error"),
    pollMs: 60_000,
    maxPerUser: options.maxPerUser ?? 4,
    maxTotal: options.maxTotal,
  });
  try {
    await fn(waiter, { r, notify });
  } finally {
    await waiter.close();
  }
}

Deno.test("read waiter: a NOTIFY for a workspace re-reads only the keys parked on it, and answers when done", () =>
  withWaiter({ maxPerUser: 4 }, async (waiter, { r, notify }) => {
    const a = waiter.reserve("u1");
    const b = waiter.reserve("u2");
    const pa = a.wait({ key: "a", topics: [WS], done: (v) => v > 0, timeoutMs: 30_000 });
    const pb = b.wait({ key: "b", topics: [OTHER_WS], done: (v) => v > 0, timeoutMs: 30_000 });
    notify("not-a-uuid");
    r.state.set("a", 1);
    notify(WS);
    assertEquals(await pa, 1);
    assertEquals(r.asked, [["a"]], "only the key parked on that workspace");
    assertEquals(waiter.stats().parked, 1);
    b.release();
    assertEquals(await pb, null);
    a.release();
    assertEquals(waiter.stats().reserved, 0);
  }));

Deno.test("read waiter: a request parked while a read is under way is not answered by that older read", () =>
  withWaiter({ maxPerUser: 4 }, async (waiter, { r, notify }) => {
    const first = waiter.reserve("u1");
    const pFirst = first.wait({ key: "k", topics: [WS], done: (v) => v !== 5, timeoutMs: 30_000 });
    const open = r.hold();
    notify(WS); // a read starts with k = 0 and is held
    await eventually(() => r.asked.length === 1, "the read to start");
    // The second request read k = 5 itself and parks for "anything but 5".
    r.state.set("k", 5);
    const second = waiter.reserve("u1");
    const pSecond = second.wait({
      key: "k",
      topics: [WS],
      done: (v) => v !== 5,
      timeoutMs: 30_000,
    });
    open();
    assertEquals(await pFirst, 0, "the first takes the read it was parked for");
    first.release();
    await new Promise((resolve) => setTimeout(resolve, 0));
    assertEquals(waiter.stats().parked, 1, "the second is still parked");
    second.release();
    assertEquals(await pSecond, null);
  }));

Deno.test("read waiter: a user holds maxPerUser places and the isolate maxTotal (429 beyond, freed on release); recheckAt re-reads at that moment", () =>
  withWaiter({ maxPerUser: 2, maxTotal: 3 }, async (waiter, { r }) => {
    const slots = [waiter.reserve("u1"), waiter.reserve("u1")];
    let refused: unknown;
    try {
      waiter.reserve("u1");
    } catch (error) {
      refused = error;
    }
    assert(refused instanceof HttpError && refused.status === 429, String(refused));
    const third = waiter.reserve("u2");
    let full: unknown;
    try {
      waiter.reserve("u3"); // a fresh user, but the isolate holds maxTotal already
    } catch (error) {
      full = error;
    }
    assert(full instanceof HttpError && full.status === 429, String(full));
    third.release();
    waiter.reserve("u3").release();
    slots[0].release();
    const again = waiter.reserve("u1");
    r.state.set("x", 1);
    const woken = await again.wait({
      key: "x",
      topics: [],
      done: (v) => v === 1,
      timeoutMs: 30_000,
      recheckAt: Date.now() + 20,
    });
    assertEquals(woken, 1);
    again.release();
    slots[1].release();
  }));

Deno.test("read waiter: while LISTEN is up the poll reads notified requests only every SAFETY_POLL_EVERY intervals, the others every interval; while down, all every interval", async () => {
  const { listener, handlers } = standIn();
  const r = controlledRead();
  const waiter = createReadWaiter<number>({
    read: r.read,
    listener,
    log: createLogger("error"),
    pollMs: 10,
    maxPerUser: 4,
  });
  const count = (key: string) => r.asked.filter((keys) => keys.includes(key)).length;
  try {
    const inbox = waiter.reserve("u1");
    const run = waiter.reserve("u1");
    const never = () => false;
    const pInbox = inbox.wait({
      key: "inbox",
      topics: [WS],
      notified: true,
      done: never,
      timeoutMs: 60_000,
    });
    const pRun = run.wait({ key: "run", topics: [WS], done: never, timeoutMs: 60_000 });
    handlers[APPROVALS_CHANGED_CHANNEL].up();
    const start = count("inbox");
    await eventually(() => count("run") >= 40, "40 polls of the run key");
    const inboxReads = count("inbox") - start;
    assert(inboxReads >= 1 && inboxReads * 4 <= count("run"), `inbox read ${inboxReads} times`);
    // A pairing re-reads every notified request at once.
    const beforePairing = count("inbox");
    handlers[WORKSPACE_PAIRED_CHANNEL].notify(OTHER_WS);
    await eventually(() => count("inbox") > beforePairing, "a read after the pairing");
    handlers[APPROVALS_CHANGED_CHANNEL].down();
    const down = count("inbox");
    const runDown = count("run");
    await eventually(() => count("run") >= runDown + 10, "10 more polls");
    assert(count("inbox") - down >= 8, "read at every poll while LISTEN is down");
    inbox.release();
    run.release();
    await Promise.all([pInbox, pRun]);
  } finally {
    await waiter.close();
  }
});
