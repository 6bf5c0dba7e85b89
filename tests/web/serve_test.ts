// web/serve.mjs (the dev server `npm run dev` runs) answered over a raw socket, since fetch
// would not send a malformed path as is.
import { assert } from "../_helpers/assert.ts";
import { serveWeb } from "../../web/serve.mjs";

async function rawGet(url: string, path: string): Promise<string> {
  const { hostname, port } = new URL(url);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  try {
    await conn.write(
      new TextEncoder().encode(
        `GET ${path} HTTP/1.1\r\nHost: ${hostname}\r\nConnection: close\r\n\r\n`,
      ),
    );
    let text = "";
    const buf = new Uint8Array(4096);
    for (let n = await conn.read(buf); n !== null; n = await conn.read(buf)) {
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
    return text;
  } finally {
    conn.close();
  }
}

Deno.test("serveWeb() answers a malformed path 400 and keeps serving", async () => {
  const dir = await Deno.makeTempDir({ prefix: "agentops-serve-" });
  await Deno.writeTextFile(`${dir}/index.html`, "<p>app</p>");
  const web = await serveWeb({ dir, port: 0 }) as { url: string; close(): Promise<void> };
  try {
    const bad = await rawGet(web.url, "/%E0");
    assert(bad.startsWith("HTTP/1.1 400 "), bad);
    const good = await rawGet(web.url, "/");
    assert(good.startsWith("HTTP/1.1 200 "), good);
    assert(good.includes("<p>app</p>"), good);
  } finally {
    await web.close();
    await Deno.remove(dir, { recursive: true });
  }
});
