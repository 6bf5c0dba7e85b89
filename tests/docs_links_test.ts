// The repository explains itself (docs/contract/): every link between its Markdown files,
// and every docs/… reference in a code comment, names a file and a heading that exist, and
// every deployed function has its own section in docs/contract/api.md.
import { assertEquals } from "./_helpers/assert.ts";

const ROOT = new URL("../", import.meta.url);
const SKIP_DIRS = new Set(["node_modules", ".git", ".data", ".tmp", "dist"]);

/** Repository files whose name ends with one of `exts`, as paths relative to the root. */
function filesEnding(exts: string[], dir = ""): string[] {
  const out: string[] = [];
  for (const entry of Deno.readDirSync(new URL(dir || ".", ROOT))) {
    const rel = dir + entry.name;
    if (entry.isDirectory) {
      if (!SKIP_DIRS.has(entry.name)) out.push(...filesEnding(exts, rel + "/"));
    } else if (exts.some((e) => entry.name.endsWith(e))) {
      out.push(rel);
    }
  }
  return out;
}

/** The anchors GitHub gives a Markdown file's headings (lower case, punctuation dropped,
 * spaces as hyphens, repeats numbered). */
function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let fenced = false;
  for (const line of markdown.split("\n")) {
    if (line.startsWith("```")) fenced = !fenced;
    const m = fenced ? null : /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const slug = m[1].toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");
    const n = seen.get(slug);
    seen.set(slug, (n ?? -1) + 1);
    anchors.add(n === undefined ? slug : `${slug}-${n + 1}`);
  }
  return anchors;
}

const anchorCache = new Map<string, Set<string> | null>();
/** Why `target` (a path relative to the root, maybe with #anchor) does not resolve, or null. */
function problem(target: string): string | null {
  const [path, anchor] = target.split("#");
  if (!anchorCache.has(path)) {
    let text: string | null = null;
    try {
      text = Deno.statSync(new URL(path, ROOT)).isFile
        ? Deno.readTextFileSync(new URL(path, ROOT))
        : "";
    } catch {
      text = null;
    }
    anchorCache.set(path, text === null ? null : headingAnchors(text));
  }
  const anchors = anchorCache.get(path);
  if (anchors === null) return "no such file";
  if (anchor && path.endsWith(".md") && !anchors!.has(anchor)) return `no heading #${anchor}`;
  return null;
}

function normalize(path: string): string {
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "..") parts.pop();
    else if (part !== "." && part !== "") parts.push(part);
  }
  return parts.join("/");
}

Deno.test("headingAnchors() follows GitHub's slugs", () => {
  const anchors = headingAnchors(
    "# The contract\n## `pair-start`\n```\n# not a heading\n```\n## Sweeps: pg_cron + pg_net\n" +
      "## Nonces\n## Nonces\n",
  );
  assertEquals([...anchors], [
    "the-contract",
    "pair-start",
    "sweeps-pg_cron--pg_net",
    "nonces",
    "nonces-1",
  ]);
});

Deno.test("every link between the repository's Markdown files resolves, anchors included", () => {
  const broken: string[] = [];
  for (const file of filesEnding([".md"])) {
    const dir = file.includes("/") ? file.slice(0, file.lastIndexOf("/") + 1) : "";
    const text = Deno.readTextFileSync(new URL(file, ROOT));
    for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      const link = m[1];
      if (/^[a-z][a-z0-9+.-]*:/i.test(link) || link.startsWith("<")) continue;
      const [path, anchor] = link.split("#");
      const target = path ? normalize(dir + decodeURI(path)) : file;
      const why = problem(anchor ? `${target}#${anchor}` : target);
      if (why) broken.push(`${file}: ${link} (${why})`);
    }
  }
  assertEquals(broken, []);
});

Deno.test("every docs/… reference in a code comment names a file and heading that exist", () => {
  const broken: string[] = [];
  for (const file of filesEnding([".ts", ".sql", ".mjs"])) {
    const text = Deno.readTextFileSync(new URL(file, ROOT));
    for (const m of text.matchAll(/(?<![\w/.-])docs\/[\w./-]*\w\.md(?:#[\w-]+)?/g)) {
      const why = problem(m[0]);
      if (why) broken.push(`${file}: ${m[0]} (${why})`);
    }
  }
  assertEquals(broken, []);
});

Deno.test("every deployed function has its own section in docs/contract/api.md", () => {
  const anchors = headingAnchors(
    Deno.readTextFileSync(new URL("docs/contract/api.md", ROOT)),
  );
  const functions = [...Deno.readDirSync(new URL("supabase/functions/", ROOT))]
    .filter((e) => e.isDirectory && !e.name.startsWith("_"))
    .map((e) => e.name)
    .sort();
  assertEquals(functions.filter((name) => !anchors.has(name)), []);
});
