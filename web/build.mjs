// Builds the web app into web/dist (or --out <dir>): the app (Preact, ES module, code-split so
// supabase-js loads only on a hosted project), the service worker (one classic script with
// the list of files to keep for offline use), the manifest and icon, index.html with the
// hashed names, and config.json from the environment. Prints the gzipped size of the JS.
//   node web/build.mjs [--out dir]
// Env: AGENTOPS_FUNCTIONS_URL (default http://127.0.0.1:54321/functions/v1), or SUPABASE_URL
// and SUPABASE_ANON_KEY for a hosted project (anonymous sign-in and Realtime).
import * as esbuild from "esbuild";
import { createHash } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const webDir = path.dirname(fileURLToPath(import.meta.url));

export async function buildWeb(outDir = path.join(webDir, "dist"), env = process.env) {
  await fs.rm(outDir, { recursive: true, force: true });
  await fs.mkdir(path.join(outDir, "assets"), { recursive: true });
  const common = {
    bundle: true,
    minify: true,
    sourcemap: false,
    target: ["es2022", "chrome109", "safari16", "firefox115"],
    jsx: "automatic",
    jsxImportSource: "preact",
    legalComments: "none",
    logLevel: "warning",
  };
  const app = await esbuild.build({
    ...common,
    entryPoints: { app: path.join(webDir, "src/main.tsx") },
    outdir: path.join(outDir, "assets"),
    format: "esm",
    splitting: true,
    entryNames: "[name]-[hash]",
    chunkNames: "chunk-[hash]",
    metafile: true,
    write: true,
  });
  const outputs = Object.keys(app.metafile.outputs).map((p) => path.relative(outDir, p));
  const entry = outputs.find((p) => /assets\/app-.*\.js$/.test(p));
  await fs.cp(path.join(webDir, "public"), outDir, { recursive: true });
  const css = await fs.readFile(path.join(webDir, "src/app.css"), "utf8");
  const html = (await fs.readFile(path.join(webDir, "index.html"), "utf8"))
    .replace("<!--styles-->", `<style>${css.replace(/\s*\n\s*/g, "")}</style>`)
    .replace("<!--scripts-->", `<script type="module" src="${entry}"></script>`);
  await fs.writeFile(path.join(outDir, "index.html"), html);
  const config = env.SUPABASE_URL && env.SUPABASE_ANON_KEY
    ? { supabase_url: env.SUPABASE_URL, supabase_anon_key: env.SUPABASE_ANON_KEY }
    : { functions_url: env.AGENTOPS_FUNCTIONS_URL || "http://127.0.0.1:54321/functions/v1" };
  await fs.writeFile(path.join(outDir, "config.json"), JSON.stringify(config, null, 2) + "\n");

  // Only the app's own entry and its eager imports are kept offline; the hosted-only
  // supabase-js chunk loads when needed.
  const eager = outputs.filter((p) =>
    p === entry ||
    app.metafile.outputs[path.join(outDir, entry)]?.imports.some((i) =>
      i.kind === "import-statement" && path.relative(outDir, i.path) === p
    )
  );
  const precache = [
    "./",
    "config.json",
    "manifest.webmanifest",
    "icon.svg",
    "icon-192.png",
    ...eager,
  ];
  const buildId = createHash("sha256").update(html + eager.join()).digest("hex").slice(0, 12);
  await esbuild.build({
    ...common,
    entryPoints: [path.join(webDir, "src/sw.ts")],
    outfile: path.join(outDir, "sw.js"),
    format: "iife",
    define: {
      __PRECACHE__: JSON.stringify(precache),
      __BUILD_ID__: JSON.stringify(buildId),
    },
  });

  const sizes = {};
  for (const file of [...outputs.filter((p) => p.endsWith(".js")), "sw.js"]) {
    const bytes = await fs.readFile(path.join(outDir, file));
    sizes[file] = { bytes: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
  }
  const eagerGzip = eager.reduce((n, p) => n + sizes[p].gzip, 0);
  return { outDir, entry, sizes, eagerGzip, config };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const i = process.argv.indexOf("--out");
  const result = await buildWeb(i > 0 ? path.resolve(process.argv[i + 1]) : undefined);
  for (const [file, s] of Object.entries(result.sizes)) {
    console.log(`  ${file}  ${s.bytes} B, ${s.gzip} B gzipped`);
  }
  console.log(
    `web app built in ${path.relative(process.cwd(), result.outDir) || "."}: ` +
      `${(result.eagerGzip / 1024).toFixed(1)} KiB of JS gzipped at first load`,
  );
}
