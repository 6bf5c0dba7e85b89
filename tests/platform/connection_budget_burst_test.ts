// Many isolates' worth of clients against a server with a small max_connections (issue 19,
// item 2): each hosted isolate builds its own pool, so the pool each one gets by default
// decides whether a burst of isolates is refused. 20 isolates with the default pool and 100
// concurrent queries each fit in 30 connections; the old default (10 per isolate) is
// refused under the same load, which shows the test can tell the two apart.
import { assert, assertEquals } from "../_helpers/assert.ts";
import { startOwnPostgres } from "../faults/own_postgres.ts";
import { loadConfig } from "../../supabase/functions/_shared/config.ts";
import { createSql, type Sql } from "../../supabase/functions/_shared/db.ts";

const MAX_CONNECTIONS = 30;
const ISOLATES = 20;
const QUERIES_PER_ISOLATE = 100;

interface Burst {
  ok: number;
  refused: string[];
  /** the most backends the isolates held at once */
  peak: number;
}

/** `isolates` pools of `max` connections, each issuing `QUERIES_PER_ISOLATE` concurrent
 * queries (what a busy isolate's requests do), while a monitor counts their backends. */
async function burst(url: string, isolates: number, max: number | undefined): Promise<Burst> {
  const pools: Sql[] = Array.from({ length: isolates }, () => createSql(url, { max }));
  const monitor = createSql(url, { max: 1 });
  let peak = 0;
  let watching = true;
  const watch = (async () => {
    while (watching) {
      const [{ n }] = await monitor`
        select count(*)::int as n from pg_stat_activity
        where application_name = 'agentops-functions' and pid <> pg_backend_pid()`;
      peak = Math.max(peak, n - 1); // less the monitor's own pool
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  try {
    await monitor`select 1`; // the monitor's connection first, so it is never refused
    const results = await Promise.allSettled(
      pools.flatMap((sql) =>
        Array.from(
          { length: QUERIES_PER_ISOLATE },
          (_, i) => sql`select pg_sleep(0.002), ${i}::int as i, count(*) from pg_class`,
        )
      ),
    );
    const refused = results.flatMap((r) =>
      r.status === "rejected" ? [String((r.reason as { code?: string }).code ?? r.reason)] : []
    );
    return { ok: results.length - refused.length, refused, peak };
  } finally {
    watching = false;
    await watch.catch(() => {});
    await Promise.all([...pools, monitor].map((sql) => sql.end({ timeout: 1 })));
  }
}

Deno.test({
  name: "20 isolates with the default pool share a 30-connection server with no refusals",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const pg = await startOwnPostgres({ maxConnections: MAX_CONNECTIONS });
    try {
      // what an isolate of a hosted project gets when DB_POOL_MAX is unset
      const defaultMax = loadConfig({
        SUPABASE_URL: "https://abcdefghijklmnop.supabase.co",
        HMAC_SECRET: "agentops-test-hmac-secret-0123456789abcdef",
        DATABASE_URL: pg.url,
      }).DB_POOL_MAX;

      await t.step("the default pool: every query answered", async () => {
        const result = await burst(pg.url, ISOLATES, defaultMax);
        assertEquals(result.refused, []);
        assertEquals(result.ok, ISOLATES * QUERIES_PER_ISOLATE);
        assert(result.peak > 0 && result.peak <= ISOLATES * defaultMax, `peak ${result.peak}`);
        assert(ISOLATES * defaultMax < MAX_CONNECTIONS);
      });

      await t.step(
        "the old default of 10 per isolate: refused (too_many_connections)",
        async () => {
          const result = await burst(pg.url, ISOLATES, 10);
          assert(result.refused.length > 0, "expected refusals with 10 connections per isolate");
          assert(result.refused.includes("53300"), `refusals: ${[...new Set(result.refused)]}`);
        },
      );
    } finally {
      await pg.destroy();
    }
  },
});
