// Builds the npm package from the one source in client/: esbuild bundles client/cli.ts
// (through src/main.ts) into dist/ as ESM for Node 20, with the npm dependencies inside,
// so the package has no runtime dependencies. `node packages/agentops/build.mjs`.
//
// - Bare imports go through supabase/functions/import_map.json, like Deno's (a path alias
//   such as `@shared/` resolves from that file's folder), and `npm:`
//   specifiers (`npm:mvdan-sh@0.10.1/sub`) lose their prefix and version; both resolve
//   from the root node_modules, whose installed version must equal the import map's.
// - Our own modules (not node_modules) get `import { Deno } from "src/deno_shim.ts"`:
//   client/ keeps calling Deno.*, on Node's built-ins; libraries never see a fake Deno.
// - The build fails when the bundle calls a Deno API the shim lacks.
// - Dynamic imports (the phone, the audit, the QR code) become chunks loaded only by the
//   commands that need them, so a hook starts without parsing supabase-js or postgres.
import { build } from "esbuild";
import { chmodSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const shimPath = path.join(here, "src/deno_shim.ts");
const importMap = JSON.parse(
  readFileSync(path.join(root, "supabase/functions/import_map.json"), "utf8"),
).imports;

/** `npm:@scope/name@1.2.3/sub/path` → { name: "@scope/name", version: "1.2.3", sub: "/sub/path" } */
export function parseNpmSpecifier(spec) {
  const m = /^npm:\/?((?:@[^/@]+\/)?[^/@]+)(?:@([^/]+))?(\/.*)?$/.exec(spec);
  if (!m) throw new Error(`Cannot parse the npm specifier ${spec}`);
  return { name: m[1], version: m[2] ?? null, sub: m[3] ?? "" };
}

function installedVersion(name) {
  try {
    // Read directly: a package's "exports" may hide its package.json from require.resolve.
    return JSON.parse(readFileSync(path.join(root, "node_modules", name, "package.json"), "utf8"))
      .version;
  } catch {
    return null;
  }
}

const checked = new Map();
function checkVersion(name, wanted) {
  if (!wanted || checked.has(name)) return;
  checked.set(name, wanted);
  const have = installedVersion(name);
  if (have === null) {
    throw new Error(
      `${name}@${wanted} is not in node_modules: add it to the root devDependencies ` +
        `(npm install -D --save-exact ${name}@${wanted})`,
    );
  }
  if (/^\d+\.\d+\.\d+/.test(wanted) && have !== wanted) {
    throw new Error(
      `node_modules has ${name}@${have} but the import map pins ${wanted}: ` +
        `npm install -D --save-exact ${name}@${wanted}`,
    );
  }
}

const npmSpecifiers = {
  name: "npm-specifiers",
  setup(b) {
    b.onResolve({ filter: /.*/ }, async (args) => {
      if (args.pluginData?.viaMap) return undefined;
      let spec = args.path;
      if (importMap[spec]) spec = importMap[spec];
      else {
        const prefix = Object.keys(importMap).find((k) => k.endsWith("/") && spec.startsWith(k));
        if (prefix) spec = importMap[prefix] + spec.slice(prefix.length);
      }
      // a path alias (`"@shared/": "../../shared/"`) is relative to the import map
      if (spec !== args.path && /^\.\.?\//.test(spec)) {
        return { path: path.resolve(root, "supabase/functions", spec) };
      }
      if (!spec.startsWith("npm:")) return undefined;
      const { name, version, sub } = parseNpmSpecifier(spec);
      checkVersion(name, version);
      const result = await b.resolve(name + sub, {
        kind: args.kind,
        resolveDir: root,
        importer: args.importer,
        pluginData: { viaMap: true },
      });
      return result.errors.length ? { errors: result.errors } : result;
    });
  },
};

const denoShim = {
  name: "deno-shim",
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, (args) => {
      if (args.path.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
      let contents = readFileSync(args.path, "utf8");
      if (args.path !== shimPath && /\bDeno\./.test(contents)) {
        contents = `import { Deno } from ${JSON.stringify(shimPath)};\n${contents}`;
      }
      return { contents, loader: "ts" };
    });
  },
};

/** The license text of every npm package inside the bundle (their licenses ask for it). */
function notices(metafile) {
  const packages = new Set();
  for (const input of Object.keys(metafile.inputs)) {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (m) packages.add(m[1]);
  }
  const parts = ["Third-party software bundled in dist/ (from npm), with its license.\n"];
  for (const name of [...packages].sort()) {
    const dir = path.join(root, "node_modules", name);
    const pkg = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8"));
    const file = readdirSync(dir).find((f) => /^(licen[cs]e|copying)/i.test(f));
    parts.push(
      `${"=".repeat(78)}\n${name}@${pkg.version} (${pkg.license ?? "see below"})\n\n` +
        (file ? readFileSync(path.join(dir, file), "utf8").trim() : "(no license file)") + "\n",
    );
  }
  return parts.join("\n");
}

/** Builds dist/; returns the bundle's files and their sizes. */
export async function buildPackage({ outdir = path.join(here, "dist"), minify = true } = {}) {
  rmSync(outdir, { recursive: true, force: true });
  const result = await build({
    entryPoints: { agentops: path.join(here, "src/main.ts") },
    outdir,
    outExtension: { ".js": ".mjs" },
    chunkNames: "chunks/[name]-[hash]",
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    minify,
    legalComments: "none", // the full licenses are in dist/THIRD_PARTY_NOTICES.txt
    metafile: true,
    logLevel: "warning",
    define: { "import.meta.main": "false" },
    // CommonJS dependencies (postgres, qrcode-terminal) call require() for node built-ins.
    banner: {
      js: "import { createRequire as __agentopsRequire } from 'node:module';" +
        "const require = __agentopsRequire(import.meta.url);",
    },
    plugins: [npmSpecifiers, denoShim],
  });
  if (process.env.AGENTOPS_BUILD_META) {
    writeFileSync(process.env.AGENTOPS_BUILD_META, JSON.stringify(result.metafile));
  }
  const shimmed = new Set(
    [...readFileSync(shimPath, "utf8").matchAll(/^ {2}"([a-zA-Z]+)",$/gm)].map((m) => m[1]),
  );
  const missing = new Set();
  for (const input of Object.keys(result.metafile.inputs)) {
    if (input.includes("node_modules") || !input.endsWith(".ts")) continue;
    const text = readFileSync(path.join(process.cwd(), input), "utf8");
    for (const m of text.matchAll(/\bDeno\.([a-zA-Z]+)/g)) {
      if (!shimmed.has(m[1])) missing.add(`Deno.${m[1]} (${input})`);
    }
  }
  if (missing.size) {
    throw new Error(
      `The bundle calls Deno APIs the Node shim lacks: ${[...missing].join(", ")}; ` +
        `add them to packages/agentops/src/deno_shim.ts`,
    );
  }
  writeFileSync(path.join(outdir, "THIRD_PARTY_NOTICES.txt"), notices(result.metafile));
  const entry = path.join(outdir, "agentops.mjs");
  writeFileSync(entry, `#!/usr/bin/env node\n${readFileSync(entry, "utf8")}`);
  chmodSync(entry, 0o755);
  // What a hook loads: the entry and its static imports (the rest loads on demand).
  const outputs = result.metafile.outputs;
  const eager = new Set();
  const visit = (file) => {
    if (eager.has(file)) return;
    eager.add(file);
    for (const imp of outputs[file]?.imports ?? []) {
      if (imp.kind === "import-statement" && outputs[imp.path]) visit(imp.path);
    }
  };
  visit(Object.keys(outputs).find((f) => f.endsWith("dist/agentops.mjs")));
  return Object.entries(outputs)
    .filter(([file]) => file.endsWith(".mjs"))
    .map(([file, out]) => ({
      file: path.relative(root, path.resolve(process.cwd(), file)),
      bytes: out.bytes,
      eager: eager.has(file),
    }));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const files = await buildPackage();
    const total = files.reduce((n, f) => n + f.bytes, 0);
    const eager = files.filter((f) => f.eager).reduce((n, f) => n + f.bytes, 0);
    // On stderr: `npm pack --json` (whose prepack runs this) keeps stdout for its JSON.
    console.error(
      `built ${files.length} file(s), ${(total / 1024).toFixed(0)} KiB in all; ` +
        `a hook loads ${(eager / 1024).toFixed(0)} KiB of it`,
    );
  } catch (error) {
    console.error(`build failed: ${error.message}`);
    process.exit(1);
  }
}
