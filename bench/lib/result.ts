// The JSON every benchmark writes to .tmp/bench/<name>.json (the shape of the common
// brief), which `npm run bench` (bench/run.mjs) turns into BENCHMARKS.md.

export interface BenchRow {
  what: string;
  target: string;
  measured: string;
  baseline: string;
  /** measured ÷ baseline (or measured ÷ target where there is no baseline) */
  ratio: number | null;
  pass: boolean | null;
  /** how far from the target, and what was tried, when it is missed */
  note?: string;
}

export interface Distribution {
  title: string;
  unit: string;
  series: { project: number[]; baseline: number[] };
}

export interface BenchResult {
  name: string;
  command: string;
  rows: BenchRow[];
  distributions: Distribution[];
  /** free text shown under the bench's table (how it was measured) */
  notes?: string[];
}

export const BENCH_DIR = ".tmp/bench";

/** Writes the result to .tmp/bench/<name>.json; returns the path. */
export async function writeResult(result: BenchResult): Promise<string> {
  await Deno.mkdir(BENCH_DIR, { recursive: true });
  const path = `${BENCH_DIR}/${result.name}.json`;
  await Deno.writeTextFile(path, JSON.stringify(result, null, 2) + "\n");
  return path;
}

/** Progress on stderr, so stdout stays free for whoever runs the bench. */
export function progress(name: string, message: string): void {
  const line = `[${name}] ${message}\n`;
  Deno.stderr.writeSync(new TextEncoder().encode(line));
}
