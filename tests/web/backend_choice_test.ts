/// <reference lib="dom" />
// The web app's backend on a build that names none (local development): a pairing link's
// backend is used only once the user confirms it, can be reset, and a backend without dev
// sign-in is named as such instead of "Offline". The backend here is a small HTTP server that
// answers as a hosted router does (push-config, and 404 for the missing dev-sign-in, with and
// without CORS headers): no database is involved. The configured build's side (a link cannot
// change the backend) is in web_app_test.ts, against the real stack.
import { assert, assertEquals } from "../_helpers/assert.ts";
import {
  browserAvailable,
  launchBrowser,
  phonePage,
  startWebApp,
  waitForText,
} from "./_browser.ts";
import type { Browser } from "puppeteer-core";

/** A backend without dev-sign-in: `/bare/…` answers its 404s without CORS headers (the
 * router before the lead's fix), `/cors/…` with them. */
function startRouterWithoutDevSignIn() {
  const seen: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const url = new URL(req.url);
    seen.push(`${req.method} ${url.pathname}`);
    const cors = {
      "access-control-allow-origin": "*",
      "access-control-allow-headers": "authorization, content-type",
    };
    if (url.pathname.endsWith("/push-config")) {
      return Response.json({ vapid_public_key: null }, { headers: cors });
    }
    const headers = url.pathname.startsWith("/cors/") ? cors : undefined;
    return Response.json({ error: { code: "not_found", message: "no such function" } }, {
      status: 404,
      headers,
    });
  });
  const origin = `http://127.0.0.1:${server.addr.port}`;
  return { origin, seen, close: () => server.shutdown() };
}

/** A loopback port nothing listens on. */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

Deno.test({
  name: "a build naming no backend takes a link's backend only when confirmed, and can reset it",
  ignore: !browserAvailable(),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const router = startRouterWithoutDevSignIn();
    const app = await startWebApp(null);
    let browser: Browser | null = null;
    try {
      browser = await launchBrowser();
      const page = await phonePage(browser);
      const stored = () => page.evaluate(() => localStorage.getItem("agentops.functions_url"));

      await t.step(
        "a link's backend is offered with its origin, and used once confirmed",
        async () => {
          const api = `${router.origin}/bare/functions/v1`;
          await page.goto(`${app.url}#/pair?code=ZZZZZZZZ&api=${encodeURIComponent(api)}`, {
            waitUntil: "load",
          });
          const notice = await waitForText(
            page,
            "[data-testid=foreign-backend]",
            new RegExp(`for the backend at ${router.origin}`),
          );
          assert(notice.includes(api), notice);
          assertEquals(
            router.seen,
            [],
            "nothing goes to the link's backend before the user agrees",
          );
          assertEquals(await stored(), null);
          const [use] = await page.$$("xpath/.//button[starts-with(., 'Use http')]");
          assertEquals(await use.evaluate((b) => b.textContent), `Use ${router.origin}`);
          await Promise.all([page.waitForNavigation({ waitUntil: "load" }), use.click()]);
          assertEquals(await stored(), api);
          // The router refuses the dev sign-in's preflight (404 without CORS): words, not Offline.
          await waitForText(
            page,
            "[role=alert]",
            new RegExp(`${router.origin} offers no dev sign-in, so it is not a local stack`),
          );
          assert(router.seen.includes("GET /bare/functions/v1/push-config"), String(router.seen));
          assertEquals(await page.$("[data-testid=offline]"), null);
        },
      );

      await t.step(
        "a 404 with CORS headers reads the same; an unreachable one is Offline",
        async () => {
          await page.evaluate((url: string) => {
            localStorage.setItem("agentops.functions_url", url);
          }, `${router.origin}/cors/functions/v1`);
          await page.reload({ waitUntil: "load" });
          await waitForText(page, "[role=alert]", /offers no dev sign-in.*SUPABASE_URL/);
          assert(
            router.seen.includes("OPTIONS /cors/functions/v1/dev-sign-in"),
            String(router.seen),
          );
          const port = closedPort();
          await page.evaluate((url: string) => {
            localStorage.setItem("agentops.functions_url", url);
          }, `http://127.0.0.1:${port}/functions/v1`);
          await page.reload({ waitUntil: "load" });
          await waitForText(
            page,
            "[role=alert]",
            new RegExp(`^Offline: Cannot reach 127.0.0.1:${port}`),
          );
        },
      );

      await t.step("the chosen backend can be reset to the build's default", async () => {
        const [reset] = await page.$$("xpath/.//button[starts-with(., 'Go back to')]");
        assert(reset, "a way back to the default backend");
        await Promise.all([page.waitForNavigation({ waitUntil: "load" }), reset.click()]);
        assertEquals(await stored(), null);
      });
    } finally {
      await browser?.close();
      await app.close();
      await router.close();
    }
  },
});
