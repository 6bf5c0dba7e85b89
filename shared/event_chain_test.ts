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
  const report = await verifyChain(rows, { seq: 3, hash: rows[2].hash });
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
  const report = await verifyChain(rows.slice(0, 2), { seq: 3, hash: rows[2].hash });
  assertEquals(report.ok, false);
  assertEquals(report.first_bad_seq, 2);
});
