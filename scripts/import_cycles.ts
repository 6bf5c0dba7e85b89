// Finds import cycles among our own modules (issue 20, item 4): the graph is `deno info
// --json` of one throwaway root that imports every non-test module under the given
// folders (so a module no entrypoint reaches is checked too), with type-only imports
// counted like the others. Each cycle is listed as its strongly connected component.
//   deno run -A scripts/import_cycles.ts     exits 1 and prints the cycles when there are any
const root = new URL("../", import.meta.url);
const rootPath = decodeURIComponent(root.pathname).replace(/\/$/, "");

/** The folders whose modules must not import each other in a circle. */
export const CHECKED_DIRS = ["supabase/functions", "shared", "client"];

async function modulesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(new URL(`${dir}/`, root))) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) out.push(...await modulesUnder(path));
    else if (/\.ts$/.test(entry.name) && !/_test\.ts$/.test(entry.name)) out.push(path);
  }
  return out;
}

interface InfoModule {
  specifier: string;
  dependencies?: { code?: { specifier?: string }; type?: { specifier?: string } }[];
}

/** Our modules (repo-relative paths) and the modules each one imports, types included. */
async function importGraph(dirs: string[]): Promise<Map<string, string[]>> {
  const files = (await Promise.all(dirs.map(modulesUnder))).flat().sort();
  const tmp = await Deno.makeTempFile({ dir: rootPath, prefix: ".import_cycles_", suffix: ".ts" });
  try {
    await Deno.writeTextFile(tmp, files.map((f) => `import "./${f}";\n`).join(""));
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", tmp],
      cwd: rootPath,
      env: { DENO_NO_PACKAGE_JSON: "1", NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new Error(`deno info failed: ${new TextDecoder().decode(out.stderr)}`);
    }
    const info = JSON.parse(new TextDecoder().decode(out.stdout));
    const prefix = `file://${rootPath}/`;
    const ours = (s?: string) =>
      s?.startsWith(prefix) && !s.includes("/.import_cycles_") ? s.slice(prefix.length) : null;
    const graph = new Map<string, string[]>();
    for (const m of info.modules as InfoModule[]) {
      const from = ours(m.specifier);
      if (!from) continue;
      const to = new Set<string>();
      for (const d of m.dependencies ?? []) {
        for (const s of [d.code?.specifier, d.type?.specifier]) {
          const target = ours(s);
          if (target) to.add(target);
        }
      }
      graph.set(from, [...to].sort());
    }
    return graph;
  } finally {
    await Deno.remove(tmp);
  }
}

/** Every group of modules that import each other in a circle (Tarjan's SCCs of size > 1,
 * or a module importing itself). Empty when the graph is acyclic. */
export function cycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  function visit(v: string) {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) !== index.get(v)) return;
    const group: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      group.push(w);
    } while (w !== v);
    if (group.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(group.sort());
  }
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return found.sort((a, b) => a[0].localeCompare(b[0]));
}

/** The import cycles among the modules of `dirs`. */
export async function importCycles(dirs = CHECKED_DIRS): Promise<string[][]> {
  return cycles(await importGraph(dirs));
}

if (import.meta.main) {
  const found = await importCycles();
  for (const group of found) console.error(`cycle: ${group.join(" <-> ")}`);
  console.error(found.length ? `${found.length} import cycle(s)` : "no import cycles");
  Deno.exit(found.length ? 1 : 0);
}
