// An SVG plot of a latency distribution: the empirical CDF of the project's samples
// against its baseline's, on a log-scaled x axis (so a 1 ms and a 1 s distribution both
// read), with p50 and p99 marked. Plain SVG text: no dependency, diffable in git.
import type { Distribution } from "./result.ts";
import { percentile } from "./stats.ts";

const W = 720;
const H = 360;
const M = { left: 64, right: 20, top: 40, bottom: 48 };
const COLORS = { project: "#1f77b4", baseline: "#d62728" };

function esc(s: string): string {
  return s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

function niceTicks(lo: number, hi: number): number[] {
  const ticks: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v >= lo && v <= hi) ticks.push(v);
    }
  }
  return ticks;
}

function label(v: number): string {
  if (v >= 1000) return `${+(v / 1000).toPrecision(3)}k`;
  return `${+v.toPrecision(3)}`;
}

/** Downsamples a sorted series to at most `max` CDF points (keeps the tail exact). */
function cdfPoints(sorted: number[], max = 400): Array<[number, number]> {
  const n = sorted.length;
  const step = Math.max(1, Math.floor(n / max));
  const indexes = new Set<number>();
  for (let i = 0; i < n; i += step) indexes.add(i);
  for (let i = Math.max(0, n - 20); i < n; i++) indexes.add(i);
  return [...indexes].sort((a, b) => a - b).map((i) => [sorted[i], (i + 1) / n]);
}

export function distributionSvg(d: Distribution): string {
  const series = Object.entries(d.series)
    .map(([name, values]) => ({
      name: name as "project" | "baseline",
      sorted: values.filter((v) => Number.isFinite(v) && v > 0).sort((a, b) => a - b),
    }))
    .filter((s) => s.sorted.length > 0);
  const all = series.flatMap((s) => [s.sorted[0], s.sorted[s.sorted.length - 1]]);
  const lo = all.length ? Math.min(...all) / 1.2 : 0.1;
  const hi = all.length ? Math.max(...all) * 1.2 : 10;
  const x = (v: number) =>
    M.left + (Math.log10(v / lo) / Math.log10(hi / lo)) * (W - M.left - M.right);
  const y = (p: number) => H - M.bottom - p * (H - M.top - M.bottom);
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(d.title)}</text>`,
  );
  for (const t of niceTicks(lo, hi)) {
    out.push(
      `<line x1="${x(t).toFixed(1)}" x2="${x(t).toFixed(1)}" y1="${M.top}" y2="${
        H - M.bottom
      }" stroke="#eee"/>`,
      `<text x="${x(t).toFixed(1)}" y="${H - M.bottom + 16}" text-anchor="middle">${
        label(t)
      }</text>`,
    );
  }
  for (const p of [0, 0.25, 0.5, 0.75, 0.9, 0.99, 1]) {
    out.push(
      `<line x1="${M.left}" x2="${W - M.right}" y1="${y(p).toFixed(1)}" y2="${
        y(p).toFixed(1)
      }" stroke="#eee"/>`,
      `<text x="${M.left - 6}" y="${(y(p) + 4).toFixed(1)}" text-anchor="end">${
        Math.round(p * 100)
      }%</text>`,
    );
  }
  out.push(
    `<text x="${W / 2}" y="${H - 10}" text-anchor="middle">${esc(d.unit)} (log scale)</text>`,
    `<text x="14" y="${H / 2}" text-anchor="middle" transform="rotate(-90 14 ${
      H / 2
    })">fraction of samples ≤ x</text>`,
  );
  series.forEach((s, i) => {
    const color = COLORS[s.name] ?? "#555";
    const pts = cdfPoints(s.sorted);
    let path = `M${x(pts[0][0]).toFixed(1)},${y(0).toFixed(1)}`;
    for (const [v, p] of pts) path += ` L${x(v).toFixed(1)},${y(p).toFixed(1)}`;
    out.push(`<path d="${path}" fill="none" stroke="${color}" stroke-width="2"/>`);
    const p50 = percentile(s.sorted, 50);
    const p99 = percentile(s.sorted, 99);
    for (const [v, tag] of [[p50, "p50"], [p99, "p99"]] as const) {
      out.push(
        `<circle cx="${x(v).toFixed(1)}" cy="${
          y(tag === "p50" ? 0.5 : 0.99).toFixed(1)
        }" r="3" fill="${color}"/>`,
      );
    }
    const legendY = M.top + 8 + i * 16;
    out.push(
      `<line x1="${M.left + 10}" x2="${
        M.left + 30
      }" y1="${legendY}" y2="${legendY}" stroke="${color}" stroke-width="2"/>`,
      `<text x="${M.left + 36}" y="${legendY + 4}">${esc(s.name)} (n=${s.sorted.length}, p50 ${
        label(p50)
      }, p99 ${label(p99)} ${esc(d.unit)})</text>`,
    );
  });
  if (series.length === 0) {
    out.push(`<text x="${W / 2}" y="${H / 2}" text-anchor="middle">no samples</text>`);
  }
  out.push("</svg>");
  return out.join("\n") + "\n";
}
