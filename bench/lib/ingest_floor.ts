// The ingest floors of bench/ingest.ts (docs/contract/targets.md#benchmarks): a bare Deno.serve on
// PORT, through the same driver and settings as the functions (createSql: postgres.js,
// prepare: false, DB_POOL_MAX), with no signature check, no validation and none of our request
// pipeline. FLOOR = "insert" (the floor of SPEC section 10): each request's JSON event is stored
// with ONE bound-parameter INSERT into bench.events_copy (a copy of public.events: same columns,
// defaults and indexes). FLOOR = "required" (the required-work floor): ONE statement doing the
// durable writes the hardening requires, into copies of their tables (see REQUIRED_WORK).
import { createSql } from "../../supabase/functions/_shared/db.ts";

const sql = createSql(Deno.env.get("DATABASE_URL")!, {
  max: Number(Deno.env.get("DB_POOL_MAX") ?? "10"),
});
const required = Deno.env.get("FLOOR") === "required";
let seq = 0;

const INSERT = `insert into bench.events_copy (id, run_id, workspace_id, seq, type, provider,
                                               event_ts, payload, hash)
                values ($1, $2, $3, $4, $5, $6, $7, $8, $9)`;

const TS = `'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'`;
/** Per event, in one statement: the nonce (unique: a replay fails), both fixed-window
 * rate-limit counters of the workspace (hour and minute) in one upsert, the run locked and its
 * hash chain advanced (seq + 1, the same sha256 over the same text as private.event_hash), the
 * event row with its seq, prev_hash and hash. Into bench.req_* copies (LIKE … INCLUDING ALL:
 * same columns, defaults, unique keys and indexes, no foreign keys). It leaves out what is not
 * a durable write (the secret-version read, the duplicate-id read, the limit comparison, the
 * run's status, message and last_event_at), so it is a lower bound on what the hardening
 * costs. $1 workspace, $2 run, $3 nonce, $4 event id, $5 type, $6 provider, $7 event_ts,
 * $8 payload. */
const REQUIRED_WORK = `
with nonce as (
  insert into bench.req_nonces (workspace_id, nonce, expires_at)
  values ($1::uuid, $3::text, now() + interval '600 seconds')
), hits as (
  insert into bench.req_rate_limits (bucket, window_start, hits)
  values ('events:' || $1::uuid || ':3600', date_trunc('hour', now()), 1),
         ('events:' || $1::uuid || ':60', date_trunc('minute', now()), 1)
  on conflict (bucket, window_start) do update set hits = bench.req_rate_limits.hits + 1
), old as (
  select id, last_seq, last_hash from bench.req_runs where id = $2::uuid for update
), run as (
  update bench.req_runs r set
    last_seq = old.last_seq + 1,
    last_hash = encode(sha256(convert_to(
      coalesce(old.last_hash, '') || '|' || (old.last_seq + 1)::text || '|' || $5::text || '|' ||
      to_char($7::timestamptz at time zone 'UTC', ${TS}) || '|' ||
      to_char(now() at time zone 'UTC', ${TS}) || '|' || $8::jsonb::text, 'UTF8')), 'hex')
  from old where r.id = old.id
  returning r.last_seq, r.last_hash, old.last_hash as prev_hash
)
insert into bench.req_events (id, run_id, workspace_id, seq, type, provider, event_ts,
                              created_at, payload, prev_hash, hash)
select $4::uuid, $2::uuid, $1::uuid, run.last_seq, $5::text, $6::text, $7::timestamptz, now(),
       $8::jsonb, run.prev_hash, run.last_hash
from run`;

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
