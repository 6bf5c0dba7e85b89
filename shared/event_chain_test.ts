import { assertEquals } from "../tests/_helpers/assert.ts";
import { type ChainRow, eventHash, verifyChain } from "./event_chain.ts";

async function chain(n: number): Promise<ChainRow[]> {
  const rows: ChainRow[] = [];
  let prev: string | null = null;
  for (let seq = 1; seq <= n; seq++) {
    const row = {
      id: `e${seq}`,
      seq,
      type: "RUN_STARTED",
      event_ts: "2026-11-29T18:02:03.123456Z",
      created_at: "2026-11-29T18:02:03.223456Z",
      payload: `{"n": ${seq}}`,
    };
    const hash: string = await eventHash(prev, row);
    rows.push({ ...row, prev_hash: prev, hash });
    prev = hash;
  }
  return rows;
}

Deno.test("verifyChain() passes an intact chain ending at the head", async () => {
  const rows = await chain(3);
  const report = await verifyChain(rows, { head: { seq: 3, hash: rows[2].hash } });
  assertEquals(report.ok, true);
  assertEquals(report.checked, 3);
});

Deno.test("verifyChain() names the first altered row", async () => {
  const rows = await chain(3);
  rows[1].payload = `{"n": 99}`;
  const report = await verifyChain(rows);
  assertEquals(report.ok, false);
  assertEquals(report.first_bad_seq, 2);
  assertEquals(report.reason, "hash does not match the row");
});

Deno.test("verifyChain() fails a chain cut short of the head", async () => {
  const rows = await chain(3);
  const report = await verifyChain(rows.slice(0, 2), { head: { seq: 3, hash: rows[2].hash } });
  assertEquals(report.ok, false);
  assertEquals(report.first_bad_seq, 2);
});

Deno.test("verifyChain() with `from` checks only the rows after an already verified one", async () => {
  const rows = await chain(5);
  const from = { seq: 3, hash: rows[2].hash };
  const report = await verifyChain(rows.slice(3), { from, head: { seq: 5, hash: rows[4].hash } });
  assertEquals(report, {
    ok: true,
    checked: 2,
    first_bad_seq: null,
    first_bad_event_id: null,
    reason: null,
  });
  // nothing new since the last check is fine, as long as the head is still there
  assertEquals((await verifyChain([], { from, head: { seq: 3, hash: rows[2].hash } })).ok, true);
  assertEquals((await verifyChain([], { from, head: { seq: 4, hash: rows[3].hash } })).ok, false);
});

Deno.test("verifyChain() with `from` fails rows that do not continue that row", async () => {
  const rows = await chain(5);
  // a gap: row 5 right after row 3
  const gap = await verifyChain(rows.slice(4), { from: { seq: 3, hash: rows[2].hash } });
  assertEquals([gap.ok, gap.first_bad_seq, gap.reason], [false, 5, "seq 5 follows 3"]);
  // a row 4 that links to another chain's row 3
  const other = await verifyChain(rows.slice(3), { from: { seq: 3, hash: "0".repeat(64) } });
  assertEquals(
    [other.ok, other.first_bad_seq, other.reason],
    [false, 4, "prev_hash does not match the previous row"],
  );
  // an altered new row
  rows[4].payload = `{"n": 99}`;
  const altered = await verifyChain(rows.slice(3), { from: { seq: 3, hash: rows[2].hash } });
  assertEquals([altered.ok, altered.first_bad_seq], [false, 5]);
});
