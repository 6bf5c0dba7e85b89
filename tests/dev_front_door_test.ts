// `npm run dev` checks its configuration before it starts anything: every problem on one
// line, no stack trace, no database started (scripts/dev.mjs).
import { assert, assertEquals, assertMatch } from "./_helpers/assert.ts";
import { freePort } from "../bench/lib/ports.ts";

const DEV = new URL("../scripts/dev.mjs", import.meta.url).pathname;

async function dev(env: Record<string, string>) {
  const out = await new Deno.Command("node", {
    args: [DEV],
    env: { DATABASE_URL: "", SUPABASE_DB_URL: "", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

Deno.test("npm run dev lists every configuration problem, one line each, before starting anything", async () => {
  const r = await dev({
    PORT: String(freePort()),
    DB_PORT: String(freePort()),
    HMAC_SECRET: "short",
    LOG_LEVEL: "loud",
    APPROVAL_WAIT_MAX_SECONDS: "500",
  });
  assertEquals(r.code, 1, r.stdout + r.stderr);
  assertMatch(r.stderr, /^ {2}HMAC_SECRET: must be at least 32 bytes$/m);
  assertMatch(r.stderr, /^ {2}LOG_LEVEL: /m);
  assertMatch(r.stderr, /^ {2}APPROVAL_WAIT_MAX_SECONDS: /m);
  assert(!/\n\s+at /.test(r.stderr), r.stderr); // no stack trace
  assert(!r.stdout.includes("database: starting"), r.stdout);
});

Deno.test("npm run dev refuses a port in use and a malformed port, naming them", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const busy = (listener.addr as Deno.NetAddr).port;
  try {
    const r = await dev({ PORT: String(busy), DB_PORT: String(freePort()) });
    assertEquals(r.code, 1, r.stdout + r.stderr);
    assertMatch(r.stderr, new RegExp(`PORT: 127\\.0\\.0\\.1:${busy} is in use`));
    const bad = await dev({ PORT: String(freePort()), DB_PORT: "5432x" });
    assertEquals(bad.code, 1);
    assertMatch(bad.stderr, /DB_PORT: "5432x" is not a port number/);
    const half = await dev({
      PORT: String(freePort()),
      SUPABASE_DB_URL: "postgresql://postgres:postgres@127.0.0.1:1/postgres",
    });
    assertEquals(half.code, 1);
    assertMatch(half.stderr, /SUPABASE_DB_URL is set but DATABASE_URL is not/);
  } finally {
    listener.close();
  }
});
