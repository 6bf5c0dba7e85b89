// No module of supabase/functions, shared or client imports itself through others (issue
// 20, item 4): checked on `deno info` of every module there, type-only imports included.
import { assertEquals } from "../_helpers/assert.ts";
import { CHECKED_DIRS, cycles, importCycles } from "../../scripts/import_cycles.ts";

Deno.test("cycles() finds a two-module cycle, a longer one and a self-import, and nothing in a tree", () => {
  const graph = new Map([
    ["a.ts", ["b.ts"]],
    ["b.ts", ["a.ts", "c.ts"]],
    ["c.ts", ["d.ts"]],
    ["d.ts", ["e.ts"]],
    ["e.ts", ["c.ts"]],
    ["f.ts", ["f.ts"]],
    ["g.ts", ["a.ts", "h.ts"]],
    ["h.ts", []],
  ]);
  assertEquals(cycles(graph), [["a.ts", "b.ts"], ["c.ts", "d.ts", "e.ts"], ["f.ts"]]);
  assertEquals(cycles(new Map([["x.ts", ["y.ts"]], ["y.ts", []]])), []);
});

Deno.test(`the modules of ${CHECKED_DIRS.join(", ")} import each other without cycles`, async () => {
  assertEquals(await importCycles(), []);
});
