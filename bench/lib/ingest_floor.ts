// The ingest floor of bench/ingest.ts (docs/contract/targets.md#benchmarks): a bare Deno.serve on
// PORT that stores each request's JSON event with ONE bound-parameter INSERT into bench.events_copy
// (a copy of public.events: same columns, defaults and indexes), through the same driver
// and settings as the functions (createSql: postgres.js, prepare: false, DB_POOL_MAX). No
// signature check, no validation, no nonce, no rate limit, no hash chain: what the runtime
// and the database cost with nothing of ours in the way.
import { createSql } from "../../supabase/functions/_shared/db.ts";

const sql = createSql(Deno.env.get("DATABASE_URL")!, {
  max: Number(Deno.env.get("DB_POOL_MAX") ?? "10"),
});
let seq = 0;

Deno.serve(
  { port: Number(Deno.env.get("PORT")), hostname: "127.0.0.1", onListen() {} },
  async (req) => {
    if (req.method !== "POST") return new Response(null, { status: 405 });
    const event = await req.json();
    const id = event.event_id ?? crypto.randomUUID();
    await sql.unsafe(
      `insert into bench.events_copy (id, run_id, workspace_id, seq, type, provider, event_ts,
                                      payload, hash)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [
        id,
        event.run_id,
        event.workspace_id,
        ++seq,
        event.event_type,
        event.provider,
        event.event_ts,
        event.payload,
        "floor",
      ],
    );
    return new Response(JSON.stringify({ event_id: id }), {
      status: 202,
      headers: { "content-type": "application/json" },
    });
  },
);
