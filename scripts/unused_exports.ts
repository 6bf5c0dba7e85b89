// Exports no other file names (issue 20, item 6): an `export` that only its own module uses
// is a promise to callers that do not exist. Lists, for every non-test module under the
// given folders, each exported declaration whose name appears in no other tracked source
// file of the repository (tests, scripts and benches count as users).
//   deno run -A scripts/unused_exports.ts     exits 1 and lists them when there are any
import { CHECKED_DIRS } from "./import_cycles.ts";

const root = new URL("../", import.meta.url);
const rootPath = decodeURIComponent(root.pathname).replace(/\/$/, "");
const DECLARATION =
  /^export\s+(?:declare\s+)?(?:async\s+)?(?:function\*?|const|let|class|interface|type|enum)\s+([A-Za-z_$][\w$]*)/gm;

async function trackedSources(): Promise<string[]> {
  const out = await new Deno.Command("git", {
    args: ["ls-files", "--cached", "--others", "--exclude-standard", "*.ts", "*.mjs", "*.js"],
    cwd: rootPath,
    stdout: "piped",
  }).output();
  // a file with a merge conflict is listed once per stage
  return [...new Set(new TextDecoder().decode(out.stdout).split("\n"))].filter((f) =>
    f && !f.startsWith("node_modules/")
  );
}

/** `file: name` for every export of `dirs` that no other file mentions. */
export async function unusedExports(dirs = CHECKED_DIRS): Promise<string[]> {
  const files = await trackedSources();
  const text = new Map<string, string>();
  for (const f of files) {
    text.set(f, await Deno.readTextFile(`${rootPath}/${f}`).catch(() => ""));
  }
  const unused: string[] = [];
  for (const file of files) {
    if (!dirs.some((d) => file.startsWith(`${d}/`)) || /_test\.ts$/.test(file)) continue;
    for (const [, name] of text.get(file)!.matchAll(DECLARATION)) {
      const word = new RegExp(`\\b${name.replace(/\$/g, "\\$")}\\b`);
      const used = files.some((other) => other !== file && word.test(text.get(other)!));
      if (!used) unused.push(`${file}: ${name}`);
    }
  }
  return unused;
}

if (import.meta.main) {
  const unused = await unusedExports();
  for (const line of unused) console.error(line);
  console.error(
    unused.length ? `${unused.length} export(s) no other file uses` : "no unused exports",
  );
  Deno.exit(unused.length ? 1 : 0);
}
