import { assert, assertEquals } from "../../../tests/_helpers/assert.ts";
import { loadConfig } from "./config.ts";
import {
  connectionBudgetIssues,
  createIdleCloser,
  DEFAULT_POOL_MAX,
  isHostedProject,
  LOCAL_POOL_MAX,
} from "./connection_budget.ts";

function assertThrows(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a configuration error");
}

const HMAC_SECRET = "agentops-test-hmac-secret-0123456789abcdef";
const HOSTED = {
  HMAC_SECRET,
  SUPABASE_URL: "https://abcdefghijklmnop.supabase.co",
  SUPABASE_DB_URL: "postgresql://postgres:pw@db.abcdefghijklmnop.supabase.co:5432/postgres",
};
const POOLER =
  "postgresql://postgres.abcdefghijklmnop:p%40ss@aws-0-eu-central-1.pooler.supabase.com:6543/postgres";

Deno.test("isHostedProject() tells a hosted project from supabase start and the local stack", () => {
  assert(isHostedProject(HOSTED));
  assert(!isHostedProject({ SUPABASE_URL: "http://kong:8000" }));
  assert(
    !isHostedProject({
      SUPABASE_URL: "http://127.0.0.1:54321",
      SUPABASE_DB_URL: "postgresql://postgres:postgres@127.0.0.1:54322/postgres",
    }),
  );
});

Deno.test("loadConfig() defaults to one connection per isolate on a hosted project", () => {
  const config = loadConfig({ ...HOSTED, DATABASE_URL: POOLER });
  assertEquals(config.DB_POOL_MAX, DEFAULT_POOL_MAX);
  assertEquals(DEFAULT_POOL_MAX, 1);
  assertEquals(config.DATABASE_URL, POOLER);
});

Deno.test("loadConfig() gives the local process that serves every function a pool of 10", () => {
  const config = loadConfig({
    HMAC_SECRET: "x".repeat(32),
    DATABASE_URL: "postgresql://postgres:postgres@127.0.0.1:54322/postgres",
  });
  assertEquals(config.DB_POOL_MAX, LOCAL_POOL_MAX);
  assertEquals(LOCAL_POOL_MAX, 10);
});

Deno.test("loadConfig() refuses a hosted project without DATABASE_URL, naming both variables", () => {
  const error = assertThrows(() => loadConfig(HOSTED));
  assert(
    /DATABASE_URL: must be set on a hosted Supabase project/.test(error.message),
    error.message,
  );
  assert(error.message.includes("SUPABASE_DB_URL"), error.message);
});

Deno.test("loadConfig() refuses the direct port 5432 with a pool of more than one", () => {
  const error = assertThrows(() =>
    loadConfig({ ...HOSTED, DATABASE_URL: HOSTED.SUPABASE_DB_URL, DB_POOL_MAX: "10" })
  );
  assert(/DATABASE_URL: points at port 5432/.test(error.message), error.message);
  assert(/DB_POOL_MAX: is 10, above 5/.test(error.message), error.message);
  // one direct connection per isolate is within budget
  loadConfig({ ...HOSTED, DATABASE_URL: HOSTED.SUPABASE_DB_URL, DB_POOL_MAX: "1" });
});

Deno.test("loadConfig() refuses more than 5 connections per isolate on a hosted project", () => {
  const error = assertThrows(() =>
    loadConfig({ ...HOSTED, DATABASE_URL: POOLER, DB_POOL_MAX: "6" })
  );
  assert(/DB_POOL_MAX: is 6/.test(error.message), error.message);
  assertEquals(loadConfig({ ...HOSTED, DATABASE_URL: POOLER, DB_POOL_MAX: "5" }).DB_POOL_MAX, 5);
});

Deno.test("connectionBudgetIssues() leaves the local stack alone, whatever the pool", () => {
  assertEquals(
    connectionBudgetIssues({
      SUPABASE_URL: "http://127.0.0.1:54321",
      SUPABASE_DB_URL: "postgresql://postgres:postgres@127.0.0.1:54322/postgres",
      DB_POOL_MAX: 64,
    }),
    [],
  );
});

Deno.test("connectionBudgetIssues() reads the port of a URL whose password URL() would refuse", () => {
  const issues = connectionBudgetIssues({
    ...HOSTED,
    DATABASE_URL: "postgresql://postgres:a/b@c#d@db.abcdefghijklmnop.supabase.co:5432/postgres",
    DB_POOL_MAX: 3,
  });
  assertEquals(issues.map((i) => i.path), ["DATABASE_URL"]);
});

Deno.test("createIdleCloser() closes after the idle period and not while busy", async () => {
  let closed = 0;
  const closer = createIdleCloser({ idleMs: 30, close: () => void closed++ });
  closer.idle();
  closer.busy(); // a request parked again before the period ran out
  await new Promise((r) => setTimeout(r, 60));
  assertEquals(closed, 0);
  closer.idle();
  assert(closer.pending);
  await new Promise((r) => setTimeout(r, 60));
  assertEquals(closed, 1);
  assert(!closer.pending);
  const never = createIdleCloser({ idleMs: 0, close: () => void closed++ });
  never.idle();
  assert(!never.pending);
});
