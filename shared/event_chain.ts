// The timeline's hash chain (docs/contract/data-model.md#hash-chain: hash = sha256(prev_hash | seq
// | type | event_ts | created_at | canonical payload)), recomputed from the rows by a verifier that
// trusts nothing the server says about them: `agentops audit verify` (client/audit.ts) and the web
// app's timeline (web/src/timeline.ts). Web Crypto only (not signing.ts's node:crypto digest), so
// it runs in Deno and in the browser; nothing else may be imported here.

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  let out = "";
  for (const b of new Uint8Array(digest)) out += b.toString(16).padStart(2, "0");
  return out;
}

export interface ChainRow {
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

export interface ChainReport {
  ok: boolean;
  checked: number;
  first_bad_seq: number | null;
  first_bad_event_id: string | null;
  reason: string | null;
}

export async function eventHash(
  prev: string | null,
  row: Omit<ChainRow, "id" | "prev_hash" | "hash">,
): Promise<string> {
  return await sha256Hex(
    `${prev ?? ""}|${row.seq}|${row.type}|${row.event_ts}|${row.created_at}|${row.payload}`,
  );
}

/** Where a chain stands: a seq and the hash of the row at that seq. */
export interface ChainLink {
  seq: number;
  hash: string | null;
}

/** Walks the rows in seq order; the first gap, broken link or wrong hash fails, and so
 * does an empty chain: a verifier must not pass a run it never saw. With `head` (the chain
 * head the server reports), the last row must be that head too, so a cut-off tail fails.
 * With `from` (a row this verifier already checked), the rows must continue the chain right
 * after it: a reader that keeps up with a run checks only what is new (`checked` counts
 * those rows), and no new rows is fine. */
export async function verifyChain(
  rows: ChainRow[],
  options: { head?: ChainLink; from?: ChainLink & { hash: string } } = {},
): Promise<ChainReport> {
  const { head, from } = options;
  if (rows.length === 0 && !from) {
    return {
      ok: false,
      checked: 0,
      first_bad_seq: null,
      first_bad_event_id: null,
      reason: "no events: the run is unknown to this database or has no timeline",
    };
  }
  let prev: string | null = from?.hash ?? null;
  let prevSeq = from?.seq ?? 0;
  let checked = 0;
  for (const row of rows) {
    checked++;
    const bad = (reason: string): ChainReport => ({
      ok: false,
      checked,
      first_bad_seq: row.seq,
      first_bad_event_id: row.id,
      reason,
    });
    if (row.seq !== prevSeq + 1) return bad(`seq ${row.seq} follows ${prevSeq}`);
    if ((row.prev_hash ?? null) !== prev) return bad("prev_hash does not match the previous row");
    if (await eventHash(prev, row) !== row.hash) return bad("hash does not match the row");
    prev = row.hash;
    prevSeq = row.seq;
  }
  const last = rows.at(-1);
  if (head && (head.seq !== prevSeq || head.hash !== prev)) {
    return {
      ok: false,
      checked,
      first_bad_seq: prevSeq,
      first_bad_event_id: last?.id ?? null,
      reason: `the chain ends at seq ${prevSeq}, but the run's head is seq ${head.seq}`,
    };
  }
  return { ok: true, checked, first_bad_seq: null, first_bad_event_id: null, reason: null };
}
