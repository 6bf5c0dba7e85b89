/// <reference lib="dom" />
// The web app in a real browser for tests: the app built (web/build.mjs) for a test stack and
// served (web/serve.mjs) on a loopback port, and headless Chromium from the
// @sparticuz/chromium npm package (unpacked to /tmp on first use) driven by puppeteer-core.
// This Chromium keeps Notification.permission "denied" (docs: /work/shared/notes/browser.md),
// so a test reaches the service worker as a CDP target instead of clicking a notification.
import puppeteer, { type Browser, type Page, type WebWorker } from "puppeteer-core";

const repoRoot = new URL("../../", import.meta.url).pathname;
const decoder = new TextDecoder();

async function node(args: string[], env: Record<string, string> = {}): Promise<string> {
  const out = await new Deno.Command("node", {
    args,
    cwd: repoRoot,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = decoder.decode(out.stdout);
  if (!out.success) {
    throw new Error(`node ${args.join(" ")} failed: ${stdout}${decoder.decode(out.stderr)}`);
  }
  return stdout;
}

export interface WebApp {
  url: string;
  /** gzipped bytes of the JS loaded at first visit, as the build measured them */
  eagerGzip: number;
  close(): Promise<void>;
}

/** Builds the app for `functionsUrl` into a temp folder and serves it on a free port. */
export async function startWebApp(functionsUrl: string): Promise<WebApp> {
  const dir = await Deno.makeTempDir({ prefix: "agentops-web-" });
  const built = await node(["web/build.mjs", "--out", dir], {
    AGENTOPS_FUNCTIONS_URL: functionsUrl,
  });
  const kib = Number(/([\d.]+) KiB of JS gzipped/.exec(built)?.[1] ?? NaN);
  const child = new Deno.Command("node", {
    args: ["web/serve.mjs", "--dir", dir, "--port", "0"],
    cwd: repoRoot,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let printed = "";
  let url = "";
  while (!url) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`web/serve.mjs exited: ${printed}`);
    printed += value;
    url = /web app: (http:\/\/\S+)/.exec(printed)?.[1] ?? "";
  }
  reader.releaseLock();
  child.stdout.cancel().catch(() => {});
  return {
    url,
    eagerGzip: Math.round(kib * 1024),
    async close() {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      await child.status;
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Where a browser comes from: CHROME_PATH (any Chrome or Chromium), else on Linux the
 * @sparticuz/chromium npm package (a Linux build only), else none. */
export function browserAvailable(): boolean {
  return Boolean(Deno.env.get("CHROME_PATH")) || Deno.build.os === "linux";
}

/** The Chromium binary: CHROME_PATH, or @sparticuz/chromium's, unpacked on first use. */
async function chromiumPath(): Promise<string> {
  const given = Deno.env.get("CHROME_PATH");
  if (given) return given;
  const out = await node([
    "--input-type=module",
    "-e",
    "const c = (await import('@sparticuz/chromium')).default; console.log(await c.executablePath());",
  ]);
  return out.trim().split("\n").pop()!;
}

export async function launchBrowser(): Promise<Browser> {
  return await puppeteer.launch({
    executablePath: await chromiumPath(),
    // @sparticuz/chromium is a headless shell; a full Chrome (CHROME_PATH) runs new headless
    headless: Deno.env.get("CHROME_PATH") ? true : "shell",
    // generous: two busy cores shared with other test processes
    protocolTimeout: 180_000,
    timeout: 120_000,
    args: [
      "--no-sandbox",
      "--no-zygote",
      "--disable-setuid-sandbox",
      "--disable-gpu",
      "--use-angle=swiftshader",
      "--font-render-hinting=none",
      "--no-first-run",
      "--disable-dev-shm-usage",
    ],
  });
}

/** A page as a phone sees it: 360 px wide. */
export async function phonePage(browser: Browser): Promise<Page> {
  const page = await browser.newPage();
  await page.setViewport({ width: 360, height: 740, deviceScaleFactor: 2, isMobile: true });
  page.setDefaultTimeout(60_000);
  return page;
}

/** The app's service worker, once it runs. */
export async function serviceWorker(browser: Browser, appUrl: string): Promise<WebWorker> {
  const target = await browser.waitForTarget(
    (t) => t.type() === "service_worker" && t.url().startsWith(appUrl),
    { timeout: 60_000 },
  );
  const worker = await target.worker();
  if (!worker) throw new Error("the service worker target has no worker");
  return worker;
}

/** Waits until `selector`'s text matches `pattern` (bounded by the page's default timeout). */
export async function waitForText(page: Page, selector: string, pattern: RegExp): Promise<string> {
  const handle = await page.waitForFunction(
    (sel: string, source: string, flags: string) => {
      const re = new RegExp(source, flags);
      for (const el of document.querySelectorAll(sel)) {
        if (re.test(el.textContent ?? "")) return el.textContent;
      }
      return false;
    },
    { timeout: 60_000, polling: 50 },
    selector,
    pattern.source,
    pattern.flags,
  );
  return String(await handle.jsonValue());
}

/** axe-core (npm, from node_modules) run in the page: the violations' ids and targets. */
export async function accessibilityViolations(page: Page): Promise<string[]> {
  const source = await Deno.readTextFile(`${repoRoot}node_modules/axe-core/axe.min.js`);
  await page.evaluate(source);
  return await page.evaluate(async () => {
    interface AxeResult {
      violations: { id: string; impact: string; nodes: { target: string[] }[] }[];
    }
    const axe = (globalThis as unknown as {
      axe: { run(context: Document, options: unknown): Promise<AxeResult> };
    }).axe;
    const result = await axe.run(document, { resultTypes: ["violations"] });
    return result.violations.map((v) =>
      `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`
    );
  });
}
