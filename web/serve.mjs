// Serves the built web app (web/dist, or --dir) as static files: what any static host does,
// plus no caching of index.html, sw.js and config.json so a new build shows at once.
//   node web/serve.mjs [--dir web/dist] [--port 54330] [--host 127.0.0.1] [--build]
// Prints `web app: http://<host>:<port>/` once listening (--port 0 picks a free port).
import http from "node:http";
import fs from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

const webDir = path.dirname(fileURLToPath(import.meta.url));

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".json": "application/json",
  ".webmanifest": "application/manifest+json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".css": "text/css; charset=utf-8",
};
const FRESH = new Set(["/", "/index.html", "/sw.js", "/config.json", "/manifest.webmanifest"]);

export function serveWeb({ dir = path.join(webDir, "dist"), port = 54330, host = "127.0.0.1" }) {
  const root = path.resolve(dir);
  const server = http.createServer(async (req, res) => {
    const pathname = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    const file = path.resolve(
      root,
      "." + (pathname.endsWith("/") ? pathname + "index.html" : pathname),
    );
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    if (!file.startsWith(root + path.sep)) {
      res.writeHead(404).end();
      return;
    }
    try {
      const body = await fs.readFile(file);
      res.writeHead(200, {
        "content-type": TYPES[path.extname(file)] ?? "application/octet-stream",
        "cache-control": FRESH.has(pathname) ? "no-cache" : "public, max-age=31536000, immutable",
        "x-content-type-options": "nosniff",
      });
      res.end(req.method === "HEAD" ? undefined : body);
    } catch {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found");
    }
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      const address = server.address();
      resolve({
        url: `http://${host}:${address.port}/`,
        close: () => new Promise((done) => server.close(() => done())),
      });
    });
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const arg = (name) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  if (process.argv.includes("--build")) {
    const { buildWeb } = await import("./build.mjs");
    const built = await buildWeb(arg("dir") ? path.resolve(arg("dir")) : undefined);
    console.log(`built (${(built.eagerGzip / 1024).toFixed(1)} KiB of JS gzipped)`);
  }
  const web = await serveWeb({
    dir: arg("dir"),
    port: Number(arg("port") ?? process.env.WEB_PORT ?? 54330),
    host: arg("host") ?? "127.0.0.1",
  });
  console.log(`web app: ${web.url}`);
  const stop = () => web.close().then(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}
