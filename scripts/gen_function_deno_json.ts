// Writes supabase/functions/<name>/deno.json for every function from the one list of
// dependency versions and path aliases, supabase/functions/import_map.json (which deno.json
// at the root also uses for tests, the dev server and the client). Supabase recommends a deno.json per
// function over a shared import map; generating them keeps one source of versions.
//   deno run -A scripts/gen_function_deno_json.ts          # write
//   deno run -A scripts/gen_function_deno_json.ts --check  # exit 1 when one is stale
const functionsDir = new URL("../supabase/functions/", import.meta.url);

/** The function folders: every folder under supabase/functions with an index.ts whose
 * name does not start with "_" (the CLI's rule: `_shared` is never deployed). */
export async function functionNames(): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(functionsDir)) {
    if (!entry.isDirectory || entry.name.startsWith("_")) continue;
    try {
      await Deno.stat(new URL(`${entry.name}/index.ts`, functionsDir));
      names.push(entry.name);
    } catch { /* not a function */ }
  }
  return names.sort();
}

/** The deno.json every function gets: the import map's entries, nothing else. A path
 * alias (`"@shared/": "../../shared/"`) is relative to the file that holds it, so it gains
 * a `../` for a deno.json one folder deeper than the import map. */
export async function functionDenoJson(): Promise<string> {
  const map = JSON.parse(await Deno.readTextFile(new URL("import_map.json", functionsDir)));
  const imports = Object.fromEntries(
    Object.entries(map.imports as Record<string, string>).map(([key, value]) => [
      key,
      value.startsWith("../") ? `../${value}` : value.replace(/^\.\//, "../"),
    ]),
  );
  return JSON.stringify({ imports }, null, 2) + "\n";
}

if (import.meta.main) {
  const check = Deno.args.includes("--check");
  const want = await functionDenoJson();
  const stale: string[] = [];
  for (const name of await functionNames()) {
    const file = new URL(`${name}/deno.json`, functionsDir);
    const have = await Deno.readTextFile(file).catch(() => "");
    if (have === want) continue;
    stale.push(name);
    if (!check) await Deno.writeTextFile(file, want);
  }
  if (check && stale.length) {
    console.error(
      `Stale deno.json in ${stale.join(", ")}: run \`npm run functions:deno-json\``,
    );
    Deno.exit(1);
  }
  console.error(
    check
      ? "every function's deno.json is current"
      : `wrote deno.json for ${stale.length} function(s)`,
  );
}
