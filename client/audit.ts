// `agentops audit verify <run_id>`: recomputes a run's hash chain on this machine from
// the stored rows (docs/contract/data-model.md#hash-chain: hash = sha256(prev_hash | seq | type |
// event_ts | created_at | canonical payload)) and names the first row that does not match. The hook
// runner's bridge secret cannot read timelines, so this reads Postgres (DATABASE_URL);
// it recomputes every hash itself (shared/event_chain.ts, which the web app uses too)
// rather than trusting private.verify_event_chain.
import postgres from "postgres";
import { type ChainReport, type ChainRow, verifyChain } from "../shared/event_chain.ts";

/** Reads a run's events (superuser or service connection) and verifies them. */
export async function verifyRunFromDatabase(
  databaseUrl: string,
  runId: string,
): Promise<ChainReport> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {}, prepare: false });
  try {
    const rows = await sql<ChainRow[]>`
      select id, seq, type,
             to_char(event_ts at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as event_ts,
             to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as created_at,
             payload::text as payload, prev_hash, hash
      from public.events where run_id = ${runId} order by seq`;
    return await verifyChain([...rows]);
  } finally {
    await sql.end({ timeout: 1 });
  }
}
