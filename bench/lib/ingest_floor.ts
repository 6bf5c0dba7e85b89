// The ingest floors of bench/ingest.ts (docs/contract/targets.md#benchmarks): a bare Deno.serve on
// PORT, through the same driver and settings as the functions (createSql: postgres.js,
// prepare: false, DB_POOL_MAX), with no signature check, no validation and none of our request
// pipeline. FLOOR = "insert" (the floor of SPEC section 10): each request's JSON event is stored
// with ONE bound-parameter INSERT into bench.events_copy (a copy of public.events: same columns,
// defaults and indexes). FLOOR = "required" (the required-work floor): ONE call doing only the
// durable writes the hardening requires (bench/lib/ingest_required_work.sql).
import { createSql } from "../../supabase/functions/_shared/db.ts";

const sql = createSql(Deno.env.get("DATABASE_URL")!, {
  max: Number(Deno.env.get("DB_POOL_MAX") ?? "10"),
});
const required = Deno.env.get("FLOOR") === "required";
let seq = 0;

const INSERT = `insert into bench.events_copy (id, run_id, workspace_id, seq, type, provider,
                                               event_ts, payload, hash)
                values ($1, $2, $3, $4, $5, $6, $7, $8, $9)`;

/** bench/lib/ingest_required_work.sql says what it writes and why it is a function. */
const REQUIRED_WORK = `select bench.required_work($1::uuid, $2::uuid, $3::text, $4::uuid, $5::text,
                                                $6::text, $7::timestamptz, $8::jsonb)`;

Deno.serve(
  { port: Number(Deno.env.get("PORT")), hostname: "127.0.0.1", onListen() {} },
  async (req) => {
    if (req.method !== "POST") return new Response(null, { status: 405 });
    const event = await req.json();
    const id = event.event_id ?? crypto.randomUUID();
    if (required) {
      await sql.unsafe(REQUIRED_WORK, [
        event.workspace_id,
        event.run_id,
        req.headers.get("x-nonce"),
        id,
        event.event_type,
        event.provider,
        event.event_ts,
        event.payload,
      ]);
    } else {
      await sql.unsafe(INSERT, [
        id,
        event.run_id,
        event.workspace_id,
        ++seq,
        event.event_type,
        event.provider,
        event.event_ts,
        event.payload,
        "floor",
      ]);
    }
    return new Response(JSON.stringify({ event_id: id }), {
      status: 202,
      headers: { "content-type": "application/json" },
    });
  },
);
