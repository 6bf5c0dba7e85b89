import { assert, assertEquals } from "../../tests/_helpers/assert.ts";
import { noteLines, renderReport } from "./report.ts";
import { percentile } from "./stats.ts";
import { distributionSvg } from "./svg.ts";

const machine = {
  cpu: "Test CPU",
  cores: 2,
  ramGiB: 4,
  os: "Linux",
  deno: "deno 2",
  postgres: "PostgreSQL 18",
  node: "v20",
  date: "2026-01-01T00:00:00Z",
};

Deno.test("percentile() is nearest-rank over unsorted samples", () => {
  const samples = [5, 1, 4, 2, 3, 6, 7, 8, 9, 10];
  assertEquals(percentile(samples, 50), 5);
  assertEquals(percentile(samples, 99), 10);
  assertEquals(percentile(samples, 0), 1);
  assert(Number.isNaN(percentile([], 50)));
});

Deno.test("renderReport() tables every row, reports missing benches as not run, and plots each distribution", () => {
  const { markdown, svgs } = renderReport(
    [
      { name: "timeline", status: "ok", seconds: 12 },
      { name: "push", status: "missing", reason: "bench/push.ts does not exist yet" },
      { name: "ingest", status: "failed", reason: "exited with code 1" },
    ],
    new Map([["timeline", {
      name: "timeline",
      command: "deno run -A bench/timeline.ts",
      rows: [
        {
          what: "fast | query",
          target: "≤ 5 ms",
          measured: "1 ms",
          baseline: "100 ms",
          ratio: 0.01,
          pass: true,
        },
        {
          what: "slow",
          target: "≤ 1.5×",
          measured: "3×",
          baseline: "1×",
          ratio: 3,
          pass: false,
          note: "100 % over",
        },
      ],
      distributions: [{
        title: "Latency",
        unit: "ms",
        series: { project: [1, 2, 3], baseline: [90, 100] },
      }],
    }]]),
    machine,
  );
  assert(markdown.includes("| timeline | fast \\| query | ≤ 5 ms | 1 ms | 100 ms | 0.01× | met |"));
  assert(markdown.includes("| slow | ≤ 1.5× | 3× | 1× | 3× | **missed** |"));
  assert(markdown.includes("not run: bench/push.ts does not exist yet"));
  assert(markdown.includes("not run: exited with code 1"));
  assert(markdown.includes("Test CPU (2 cores)"));
  assert(markdown.includes("## Targets missed"));
  assertEquals([...svgs.keys()], ["docs/bench/timeline-1-latency.svg"]);
  assert(markdown.includes("](docs/bench/timeline-1-latency.svg)"));
  const svg = [...svgs.values()][0];
  assert(svg.startsWith("<svg"));
  assert(svg.includes("project (n=3") && svg.includes("baseline (n=2"));
});

Deno.test("distributionSvg() draws an empty plot without samples rather than failing", () => {
  const svg = distributionSvg({ title: "none", unit: "ms", series: { project: [], baseline: [] } });
  assert(svg.includes("no samples"));
});

Deno.test("renderReport() prints a note given as one string as one bullet, not a character per line", () => {
  const { markdown } = renderReport(
    [{ name: "push", status: "ok", seconds: 35 }],
    new Map([["push", {
      name: "push",
      command: "deno run -A bench/push.ts",
      rows: [],
      distributions: [],
      // what bench/push.ts wrote to .tmp/bench/push.json before it wrote an array
      notes: "load average 2.8 on 2 CPUs; 300 requests" as unknown as string[],
    }]]),
    machine,
  );
  assert(markdown.includes("\n- load average 2.8 on 2 CPUs; 300 requests\n"), markdown);
  assert(!/^- .$/m.test(markdown), "no one-character bullets");
});

Deno.test("noteLines() keeps an array's notes and splits a string on its lines", () => {
  assertEquals(noteLines(["a", "b"]), ["a", "b"]);
  assertEquals(noteLines("first\nsecond\n"), ["first", "second"]);
  assertEquals(noteLines(undefined), []);
});

Deno.test("renderReport() puts the findings (bench/FINDINGS.md) between the results and the details", () => {
  const findings = "## Where the time goes\n\n- the decision's own SQL call";
  const { markdown } = renderReport([], new Map(), machine, findings);
  const at = markdown.indexOf("## Where the time goes");
  assert(at > markdown.indexOf("## Results"), "after the results");
  assert(at < markdown.indexOf("## Details"), "before the details");
  assert(markdown.includes("- the decision's own SQL call"));
  assert(!renderReport([], new Map(), machine).markdown.includes("Where the time goes"));
});
