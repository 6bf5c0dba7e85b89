// The shared LISTEN connection on a real database: one connection for every channel,
// notifications routed by channel, an idle close that is no failure, a reopen on the next
// park, and a database it cannot reach.
import postgres from "postgres";
import { assert, assertEquals } from "../../../tests/_helpers/assert.ts";
import { eventually } from "../../../tests/_helpers/approvals.ts";
import { dropDatabase, freshDatabase } from "../../../tests/_helpers/stack.ts";
import { createListener, LISTEN_APPLICATION_NAME } from "./listener.ts";
import { createLogger } from "./logger.ts";

function recorder() {
  const events: string[] = [];
  return {
    events,
    handlers: {
      up: () => void events.push("up"),
      down: () => void events.push("down"),
      notify: (payload: string) => void events.push(`notify ${payload}`),
    },
  };
}

async function withDatabase(fn: (url: string, admin: postgres.Sql) => Promise<void>) {
  const url = await freshDatabase();
  const admin = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await fn(url, admin);
  } finally {
    await admin.end({ timeout: 1 });
    await dropDatabase(url);
  }
}

const backends = async (admin: postgres.Sql) =>
  (await admin`select pid from pg_stat_activity
               where application_name = ${LISTEN_APPLICATION_NAME}
                 and datname = current_database()`).length;

Deno.test("createListener() LISTENs on every channel over one connection, opened on the first busy()", async () => {
  await withDatabase(async (url, admin) => {
    const warnings: string[] = [];
    const listener = createListener({
      url,
      log: createLogger("warn", {}, (l) => warnings.push(l)),
    });
    const a = recorder(), b = recorder();
    const subA = listener.subscribe("chan_a", a.handlers);
    listener.subscribe("chan_b", b.handlers);
    try {
      assertEquals(await backends(admin), 0);
      subA.busy();
      await eventually(() => a.events.includes("up") && b.events.includes("up"), "up");
      assertEquals(await backends(admin), 1);
      await admin`select pg_notify('chan_a', 'one'), pg_notify('chan_b', 'two')`;
      await eventually(() => a.events.length === 2 && b.events.length === 2, "notifications");
      assertEquals([a.events, b.events], [["up", "notify one"], ["up", "notify two"]]);
      assertEquals(warnings, []);
    } finally {
      await listener.close();
    }
    assertEquals(await backends(admin), 0);
  });
});

Deno.test("createListener() closes idle without a warning or a reconnect, and reopens on the next busy()", async () => {
  await withDatabase(async (url, admin) => {
    const warnings: string[] = [];
    const listener = createListener({
      url,
      log: createLogger("info", {}, (l) => warnings.push(l)),
      idleCloseMs: 50,
    });
    const a = recorder();
    const sub = listener.subscribe("chan_a", a.handlers);
    try {
      sub.busy();
      await eventually(() => listener.listening, "LISTEN");
      sub.idle();
      await eventually(async () => (await backends(admin)) === 0, "the idle close", 60_000);
      assertEquals(a.events, ["up", "down"]);
      assertEquals(listener.stats(), { listening: false, opens: 1, idleCloses: 1 });
      assertEquals(warnings, [], "an idle close is logged as a failure");
      sub.busy();
      await eventually(() => listener.listening, "LISTEN again");
      assertEquals(listener.stats().opens, 2);
      await admin`select pg_notify('chan_a', 'again')`;
      await eventually(() => a.events.includes("notify again"), "the notification");
      assertEquals(a.events, ["up", "down", "up", "notify again"]);
    } finally {
      await listener.close();
    }
  });
});

Deno.test("createListener() warns once when it cannot LISTEN and stays down; disabled, it never opens", async () => {
  const free = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (free.addr as Deno.NetAddr).port;
  free.close();
  const warnings: string[] = [];
  const listener = createListener({
    url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`,
    log: createLogger("warn", {}, (l) => warnings.push(l)),
  });
  const a = recorder();
  const sub = listener.subscribe("chan_a", a.handlers);
  sub.busy();
  await eventually(() => warnings.length === 1, "the warning");
  sub.busy(); // within the pause: no second attempt, no second warning
  assertEquals(listener.stats().opens, 1);
  assertEquals(listener.listening, false);
  assertEquals(a.events, []);
  await listener.close();

  const disabled = createListener({
    url: "postgres://unused",
    log: createLogger("error"),
    enabled: false,
  });
  disabled.subscribe("chan_a", a.handlers).busy();
  assertEquals(disabled.stats().opens, 0);
  await disabled.close();
  let refused = false;
  try {
    disabled.subscribe("chan; drop table x", a.handlers);
  } catch {
    refused = true;
  }
  assert(refused, "a channel name that is not an identifier was accepted");
});
