// `agentops audit verify <run_id>`: recomputes a run's hash chain on this machine from
// the stored rows (SPEC section 4: hash = sha256(prev_hash | seq | type | event_ts |
// created_at | canonical payload)) and names the first row that does not match. The hook
// runner's bridge secret cannot read timelines, so this reads Postgres (DATABASE_URL);
// it recomputes every hash itself rather than trusting private.verify_event_chain.
import postgres from "postgres";
import { sha256Hex } from "../shared/signing.ts";

interface ChainRow {
  id: string;
  seq: number;
  type: string;
  /** timestamps as the chain hashes them: UTC, microseconds, e.g. 2026-11-25T19:40:01.123456Z */
  event_ts: string;
  created_at: string;
  /** the payload's canonical text (jsonb's text form) */
  payload: string;
  prev_hash: string | null;
  hash: string;
}

interface ChainReport {
  ok: boolean;
  checked: number;
  first_bad_seq: number | null;
  first_bad_event_id: string | null;
  reason: string | null;
}

async function eventHash(
  prev: string | null,
  row: Omit<ChainRow, "id" | "prev_hash" | "hash">,
): Promise<string> {
  return await sha256Hex(
    `${prev ?? ""}|${row.seq}|${row.type}|${row.event_ts}|${row.created_at}|${row.payload}`,
  );
}

/** Walks the rows in seq order; the first gap, broken link or wrong hash fails, and so
 * does an empty chain: a verifier must not pass a run it never saw. */
export async function verifyChain(rows: ChainRow[]): Promise<ChainReport> {
  if (rows.length === 0) {
    return {
      ok: false,
      checked: 0,
      first_bad_seq: null,
      first_bad_event_id: null,
      reason: "no events: the run is unknown to this database or has no timeline",
    };
  }
  let prev: string | null = null;
  let checked = 0;
  for (const [i, row] of rows.entries()) {
    checked++;
    const bad = (reason: string): ChainReport => ({
      ok: false,
      checked,
      first_bad_seq: row.seq,
      first_bad_event_id: row.id,
      reason,
    });
    if (row.seq !== i + 1) return bad(`seq ${row.seq} follows ${i}`);
    if ((row.prev_hash ?? null) !== prev) return bad("prev_hash does not match the previous row");
    if (await eventHash(prev, row) !== row.hash) return bad("hash does not match the row");
    prev = row.hash;
  }
  return { ok: true, checked, first_bad_seq: null, first_bad_event_id: null, reason: null };
}

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
