// What `supabase functions deploy` ships, checked without a Supabase project (issue 19,
// item 1): every function's module graph, walked from its entrypoint with its own
// deno.json the way the CLI bundles it, stays inside the repository (no node_modules, no
// client/ or tests/), uses no remote import (https:, jsr: do not resolve on these machines
// and are not what the config declares), and takes its npm packages at the versions of the
// one list; config.toml declares exactly the function folders, each with its own deno.json
// generated from that list; and the CLI's `--use-api` uploader (which finds files with a
// regex, not with Deno) uploads every local file of the graph, from paths inside the repo
// root (cli#3467: a path leaving the working directory fails to upload).
import { assert, assertEquals } from "../_helpers/assert.ts";
import { functionDenoJson, functionNames } from "../../scripts/gen_function_deno_json.ts";

const root = new URL("../../", import.meta.url);
const rootPath = decodeURIComponent(root.pathname).replace(/\/$/, "");
const deno = `${rootPath}/node_modules/.bin/deno`;

/** The lowest Supabase CLI that deploys this layout: 2.21.2 resolves relative imports
 * outside supabase/functions (cli#3417) and 2.76.17 finds multi-line `import type {…}`
 * when uploading with --use-api (cli#4872). */
const MIN_SUPABASE_CLI = [2, 76, 17];

interface FunctionBlock {
  enabled?: boolean;
  verify_jwt?: boolean;
  import_map?: string;
  entrypoint?: string;
}

/** The [functions.<name>] tables of config.toml (flat key = value lines only). */
async function functionBlocks(): Promise<Map<string, FunctionBlock>> {
  const toml = await Deno.readTextFile(new URL("supabase/config.toml", root));
  const blocks = new Map<string, FunctionBlock>();
  let current: Record<string, unknown> | undefined;
  for (const line of toml.split("\n")) {
    const table = /^\[(.+)\]\s*$/.exec(line.trim());
    if (table) {
      const fn = /^functions\.([A-Za-z0-9_-]+)$/.exec(table[1]);
      current = fn ? {} : undefined;
      if (fn) blocks.set(fn[1], current as FunctionBlock);
      continue;
    }
    const kv = /^([a-z_]+)\s*=\s*(.+?)\s*$/.exec(line.trim());
    if (current && kv) current[kv[1]] = JSON.parse(kv[2]);
  }
  return blocks;
}

interface DenoModule {
  kind?: string;
  specifier: string;
  error?: string;
  npmPackage?: string;
  dependencies?: { specifier: string; code?: { specifier?: string; error?: string } }[];
}

/** `deno info --json` of a function's entrypoint resolved with its own deno.json only (no
 * root deno.json, no package.json): what the CLI's bundler sees. */
async function moduleGraph(name: string): Promise<{ modules: DenoModule[]; npm: string[] }> {
  const out = await new Deno.Command(deno, {
    args: [
      "info",
      "--json",
      "--no-config",
      "--import-map",
      `supabase/functions/${name}/deno.json`,
      `./supabase/functions/${name}/index.ts`,
    ],
    cwd: rootPath,
    env: { DENO_NO_PACKAGE_JSON: "1", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(`deno info failed for ${name}: ${new TextDecoder().decode(out.stderr)}`);
  }
  const info = JSON.parse(text);
  const npm = Object.keys(info.npmPackages ?? {});
  return { modules: info.modules as DenoModule[], npm };
}

/** The files the CLI's `--use-api` deploy uploads: its regex walk of the import graph
 * (supabase/cli pkg/function/deno.go, WalkImportPaths, as of 2.76.17), with paths relative
 * to the working directory (the repo root). */
async function uploadWalk(entrypoint: string, imports: Record<string, string>) {
  const pattern =
    /(?:import|export)\s+(?:type\s+)?(?:{[^{}]+}|.*?)\s*(?:from)?\s*['"](.*?)['"]|import\(\s*['"](.*?)['"]\)/gi;
  const seen = new Set<string>();
  const missing: string[] = [];
  const queue = [entrypoint];
  while (queue.length) {
    const current = queue.pop()!;
    if (seen.has(current)) continue;
    seen.add(current);
    let text: string;
    try {
      text = await Deno.readTextFile(new URL(current, root));
    } catch {
      missing.push(current);
      continue;
    }
    for (const match of text.matchAll(pattern)) {
      let mod = (match[1] || match[2] || "").trim();
      let substituted = false;
      for (const [key, value] of Object.entries(imports)) {
        if (mod.startsWith(key)) {
          mod = value + mod.slice(key.length);
          substituted = true;
        }
      }
      if (!/\.[A-Za-z0-9]+$/.test(mod.split("/").pop() ?? "")) continue;
      const relative = mod.startsWith("./") || mod.startsWith("../");
      if (!relative && !mod.startsWith("/")) continue;
      // path.Join with the importer's folder, or path.Clean of a substituted one
      queue.push(mod.startsWith("/") ? mod : joinPath(substituted ? "." : dirname(current), mod));
    }
  }
  return { files: [...seen].filter((f) => !missing.includes(f)), missing };
}

/** A deno.json's imports as the CLI reads them (ImportMap.Resolve in pkg/function/deno.go):
 * a relative value joined to the file's folder, from the working directory, `./`-prefixed,
 * keeping its trailing `/`. */
async function resolvedImports(denoJson: string): Promise<Record<string, string>> {
  const { imports } = JSON.parse(await Deno.readTextFile(new URL(denoJson, root)));
  return Object.fromEntries(
    Object.entries(imports as Record<string, string>).map(([key, value]) => {
      if (value.startsWith("/") || /^[a-z][a-z0-9+.-]*:/i.test(value)) return [key, value];
      const joined = joinPath(dirname(denoJson), value);
      return [key, `./${joined}${value.endsWith("/") ? "/" : ""}`];
    }),
  );
}

function dirname(path: string): string {
  const i = path.lastIndexOf("/");
  return i < 0 ? "." : path.slice(0, i);
}

/** path.Join + path.Clean of Go for relative paths: keeps leading "..". */
function joinPath(base: string, relative: string): string {
  const out: string[] = [];
  for (const part of `${base}/${relative}`.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === ".." && out.length && out[out.length - 1] !== "..") out.pop();
    else out.push(part);
  }
  return out.join("/");
}

function compareVersions(a: number[], b: number[]): number {
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) - (b[i] ?? 0);
  return 0;
}

const names = await functionNames();
const importMap = JSON.parse(
  await Deno.readTextFile(new URL("supabase/functions/import_map.json", root)),
).imports as Record<string, string>;

Deno.test("config.toml has a [functions.<name>] block for every function folder and no other", async () => {
  const blocks = await functionBlocks();
  assertEquals([...blocks.keys()].sort(), names);
  for (const [name, block] of blocks) {
    assertEquals(block, {
      enabled: true,
      verify_jwt: false,
      import_map: `./functions/${name}/deno.json`,
      entrypoint: `./functions/${name}/index.ts`,
    }, name);
  }
});

Deno.test("every function's deno.json is generated from the one list of versions", async () => {
  const want = await functionDenoJson();
  for (const name of names) {
    const have = await Deno.readTextFile(new URL(`supabase/functions/${name}/deno.json`, root));
    assertEquals(have, want, `${name}/deno.json is stale: run \`npm run functions:deno-json\``);
  }
  const rootConfig = JSON.parse(await Deno.readTextFile(new URL("deno.json", root)));
  assertEquals(rootConfig.importMap, "./supabase/functions/import_map.json");
  for (const [key, value] of Object.entries(importMap)) {
    if (key.endsWith("/") && value.startsWith("../")) continue; // a path alias (@shared/)
    assert(/^npm:(@[^/]+\/)?[^@/]+@\d+\.\d+\.\d+$/.test(value), `${key}: ${value} is pinned`);
  }
});

Deno.test("package.json pins a Supabase CLI that deploys functions importing the root shared/", async () => {
  const pkg = JSON.parse(await Deno.readTextFile(new URL("package.json", root)));
  const pinned = String(pkg.devDependencies.supabase);
  assert(/^\d+\.\d+\.\d+$/.test(pinned), `supabase is pinned exactly, not ${pinned}`);
  assert(
    compareVersions(pinned.split(".").map(Number), MIN_SUPABASE_CLI) >= 0,
    `supabase ${pinned} < ${MIN_SUPABASE_CLI.join(".")}`,
  );
});

for (const name of names) {
  Deno.test(`${name}: the module graph stays in the repo, has no remote import, and uploads whole`, async () => {
    const { modules, npm } = await moduleGraph(name);
    const local: string[] = [];
    const problems: string[] = [];
    for (const m of modules) {
      if (m.error) problems.push(`${m.specifier}: ${m.error}`);
      for (const d of m.dependencies ?? []) {
        if (d.code?.error) problems.push(`${m.specifier} → ${d.specifier}: ${d.code.error}`);
      }
      if (m.kind === "npm" || m.kind === "node") continue;
      if (!m.specifier.startsWith("file://")) {
        problems.push(`remote import ${m.specifier}`);
        continue;
      }
      const path = decodeURIComponent(new URL(m.specifier).pathname);
      if (!path.startsWith(`${rootPath}/`)) {
        problems.push(`leaves the repository: ${path}`);
        continue;
      }
      const inRepo = path.slice(rootPath.length + 1);
      if (!/^(supabase\/functions\/|shared\/)/.test(inRepo)) {
        problems.push(`imports ${inRepo} (only supabase/functions/ and shared/ deploy)`);
      }
      local.push(inRepo);
    }
    assertEquals(problems, [], name);
    assert(local.includes(`supabase/functions/${name}/index.ts`), name);

    // npm packages: each one of the list, at the listed version (or a dependency of one)
    const listed = new Set(Object.values(importMap).map((v) => v.replace(/^npm:/, "")));
    const direct = modules.filter((m) => m.kind === "npm").map((m) => m.npmPackage ?? "");
    for (const pkg of direct) assert(listed.has(pkg), `${name} uses ${pkg}, not in the list`);
    assert(npm.length >= direct.length, name);

    // what --use-api uploads covers the graph, from paths inside the working directory
    const upload = await uploadWalk(
      `supabase/functions/${name}/index.ts`,
      await resolvedImports(`supabase/functions/${name}/deno.json`),
    );
    const notUploaded = local.filter((f) => !upload.files.includes(f));
    assertEquals(notUploaded, [], `${name}: files the --use-api upload would miss`);
    const outside = upload.files.filter((f) => f.startsWith("../") || f.startsWith("/"));
    assertEquals(outside, [], `${name}: upload paths outside the repo root (cli#3467)`);
  });
}
