/// <reference lib="dom" />
// The web app (web/) in a real browser against the real stack: pairing from the app with the
// code `agentops pair` printed, an approval from a hook decided in the inbox, a push delivered
// to the service worker and denied from its notification action, a tampered event flagged by
// the in-browser hash-chain check, and an accessibility check of every screen at 360 px.
// Screenshots of the screens go to docs/screenshots/ (WEB_SCREENSHOTS=1).
import type { Browser, Page } from "puppeteer-core";
import { assert, assertEquals } from "../_helpers/assert.ts";
import { startStack } from "../_helpers/stack.ts";
import { eventually } from "../_helpers/approvals.ts";
import { CLI, hookPayload, runHookCli, testProject } from "../_helpers/agentops.ts";
import { startFakeWebPushService } from "../_helpers/webpush_service.ts";
import {
  accessibilityViolations,
  browserAvailable,
  launchBrowser,
  phonePage,
  serviceWorker,
  startWebApp,
  waitForText,
} from "./_browser.ts";

const SCREENSHOTS = Deno.env.get("WEB_SCREENSHOTS") === "1"
  ? new URL("../../docs/screenshots/", import.meta.url).pathname
  : null;

async function screenshot(page: Page, name: string) {
  if (!SCREENSHOTS) return;
  await Deno.mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: `${SCREENSHOTS}${name}.png`, fullPage: true });
}

async function assertAccessible(page: Page, screen: string) {
  const violations = await accessibilityViolations(page);
  assertEquals(violations, [], `axe-core violations on the ${screen} screen`);
}

/** Reads the CLI's output until `pattern` matches; the rest keeps flowing into `printed`. */
async function readUntil(
  reader: ReadableStreamDefaultReader<string>,
  state: { printed: string },
  pattern: RegExp,
): Promise<RegExpExecArray> {
  while (true) {
    const match = pattern.exec(state.printed);
    if (match) return match;
    const { value, done } = await reader.read();
    if (done) throw new Error(`agentops pair ended before ${pattern}: ${state.printed}`);
    state.printed += value;
  }
}

Deno.test({
  name:
    "the web app pairs, decides from the inbox and from a notification, and flags a tampered timeline",
  // @sparticuz/chromium ships a Linux build; elsewhere set CHROME_PATH to a local Chrome
  ignore: !browserAvailable(),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const pushService = await startFakeWebPushService();
    const stack = await startStack({ env: { ...pushService.env, AGENTOPS_DEV_SIGN_IN: "1" } });
    const app = await startWebApp(stack.functionsUrl);
    const project = await testProject(stack, null);
    let browser: Browser | null = null;
    try {
      browser = await launchBrowser();
      const page = await phonePage(browser);
      // This Chromium cannot reach a real push service nor grant notifications: the page gets
      // a subscription of the loopback push service instead (the test holds its keys).
      const subscription = await pushService.subscribe();
      await page.evaluateOnNewDocument((json: string) => {
        const sub = JSON.parse(json);
        // kept like a browser keeps a subscription: across reloads of the origin
        const KEY = "test.push_subscribed";
        const fake = {
          endpoint: sub.endpoint,
          toJSON: () => sub,
          unsubscribe: () => {
            localStorage.removeItem(KEY);
            return Promise.resolve(true);
          },
        };
        Object.defineProperty(Notification, "permission", { get: () => "granted" });
        Notification.requestPermission = () => Promise.resolve("granted");
        PushManager.prototype.subscribe = function () {
          localStorage.setItem(KEY, "1");
          return Promise.resolve(fake as unknown as PushSubscription);
        };
        PushManager.prototype.getSubscription = function () {
          const subscribed = localStorage.getItem(KEY) === "1";
          return Promise.resolve(subscribed ? fake as unknown as PushSubscription : null);
        };
      }, subscription.json);

      await t.step("pairs from the app with the QR link `agentops pair` printed", async () => {
        const child = new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", CLI, "pair", "--no-qr", "--name", "web-e2e"],
          cwd: project.dir,
          stdin: "null",
          stdout: "piped",
          stderr: "piped",
          env: { ...project.env, AGENTOPS_APP_URL: app.url },
        }).spawn();
        const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
        const state = { printed: "" };
        const [, code] = await readUntil(reader, state, /Code: ([0-9A-Z]{8})/);
        const [link] = await readUntil(reader, state, /http:\/\/\S+#\/pair\?\S+/);
        assert(link.startsWith(app.url), link);
        await page.goto(link, { waitUntil: "load" });
        await page.waitForSelector("#pair-code");
        await page.waitForFunction(
          (c: string) => (document.querySelector("#pair-code") as HTMLInputElement).value === c,
          {},
          code,
        );
        await screenshot(page, "pair");
        await assertAccessible(page, "pairing");
        // A code the backend does not know: its answer is shown in words, nothing is paired.
        await page.$eval("#pair-code", (el) => (el as HTMLInputElement).value = "");
        await page.type("#pair-code", "ZZZZ ZZZZ");
        await page.click("button[type=submit]");
        await waitForText(page, "[role=alert]", /the pair token is unknown, used or expired/);
        await screenshot(page, "pair-error");
        assertEquals((await stack.sql`select count(*)::int as n from workspace_devices`)[0].n, 0);
        await page.$eval("#pair-code", (el) => (el as HTMLInputElement).value = "");
        await page.type("#pair-code", code.toLowerCase());
        await page.click("button[type=submit]");
        await waitForText(page, "[data-testid=paired]", /Paired with web-e2e/);
        for (let r = await reader.read(); !r.done; r = await reader.read()) {
          state.printed += r.value;
        }
        assertEquals((await child.status).code, 0, state.printed);
        assert(state.printed.includes("Paired with"), state.printed);
        const [device] = await stack.sql`select platform, push_provider, push_token from devices`;
        assertEquals(device.platform, "web");
        assertEquals(device.push_provider, "webpush");
        assertEquals(
          JSON.parse(device.push_token).endpoint,
          JSON.parse(subscription.json).endpoint,
        );
      });

      const conversation = crypto.randomUUID();
      /** Cursor's beforeShellExecution hook for `command`, in one run (conversation). */
      const cursorAsks = async (command: string) =>
        runHookCli(
          project,
          "cursor",
          await hookPayload("cursor-beforeshellexecution", {
            conversation_id: conversation,
            generation_id: `g-${crypto.randomUUID()}`,
            command,
          }),
        );
      await t.step(
        "a hook's approval appears in the inbox; approve with a note reaches the hook",
        async () => {
          await page.goto(`${app.url}#/inbox`, { waitUntil: "load" });
          await page.waitForSelector("[data-testid=inbox-empty]");
          const hook = cursorAsks("npm publish");
          // Benchmark, not assertion: how long from the request being stored to the card shown.
          const card = await page.waitForSelector("article[data-approval-id]", { timeout: 90_000 });
          const [stored] = await stack.sql`select requested_at from approvals`;
          console.log(
            `inbox: approval shown ${Date.now() - new Date(stored.requested_at).getTime()} ms ` +
              `after it was stored`,
          );
          assert(card);
          await waitForText(page, "article[data-approval-id] pre", /^npm publish$/);
          await screenshot(page, "inbox");
          await assertAccessible(page, "inbox");
          await page.type("article[data-approval-id] textarea", "fine, then tag the release");
          await page.select("article[data-approval-id] select", "prefix");
          // keyboard only from here: Tab from the prefix field reaches Approve, Enter presses it
          await page.focus("article[data-approval-id] select + label + input");
          await page.keyboard.press("Tab");
          assertEquals(await page.evaluate(() => document.activeElement?.textContent), "Approve");
          await page.keyboard.press("Enter");
          const out = await hook;
          assertEquals(out.code, 0, out.stderr);
          assertEquals(out.json?.permission, "allow");
          assert(
            String(out.json?.agent_message ?? "").includes("fine, then tag the release"),
            JSON.stringify(out.json),
          );
          await waitForText(page, "[data-testid=delivery]", /The agent has your answer/);
          const rules = await stack.sql`select effect, match, value from rules`;
          assertEquals(rules.map((r) => ({ ...r })), [
            { effect: "allow", match: "prefix", value: "npm publish" },
          ]);
          await screenshot(page, "inbox-decided");
        },
      );

      await t.step(
        "a push shows Approve/Deny; Deny decides from the service worker without opening the app",
        async () => {
          const worker = await serviceWorker(browser!, app.url);
          await worker.evaluate(() => {
            // deno-lint-ignore no-explicit-any
            const sw = globalThis as any;
            sw.__shown = [];
            sw.__opened = [];
            sw.registration.showNotification = (title: string, options: unknown) => {
              sw.__shown.push({ title, options });
              return Promise.resolve();
            };
            sw.clients.openWindow = (url: string) => {
              sw.__opened.push(url);
              return Promise.resolve(null);
            };
          });
          const before = pushService.received.length;
          const hook = cursorAsks("npm run build");
          await pushService.waitForReceived(before + 1, 90_000);
          const push = pushService.received.at(-1)!.payload;
          assertEquals((push.data as Record<string, string>).type, "approval");
          const session = await page.createCDPSession();
          // the app's registration, as DevTools reports registrations (bounded by the step)
          const registration = await new Promise<{ registrationId: string }>((resolve) => {
            session.on(
              "ServiceWorker.workerRegistrationUpdated",
              (
                { registrations }: {
                  registrations: { registrationId: string; scopeURL: string }[];
                },
              ) => {
                const ours = registrations.find((r) => r.scopeURL.startsWith(app.url));
                if (ours) resolve(ours);
              },
            );
            session.send("ServiceWorker.enable");
          });
          await session.send("ServiceWorker.deliverPushMessage", {
            origin: new URL(app.url).origin,
            registrationId: registration.registrationId,
            data: JSON.stringify(push),
          });
          await eventually(
            // deno-lint-ignore no-explicit-any
            async () => (await worker.evaluate(() => (globalThis as any).__shown.length)) > 0,
            "the worker to show the notification",
            60_000,
          );
          // deno-lint-ignore no-explicit-any
          const [notification] = await worker.evaluate(() => (globalThis as any).__shown);
          assertEquals(notification.title, push.title);
          assertEquals(notification.options.body, "npm run build");
          assertEquals(
            notification.options.actions.map((a: { action: string }) => a.action),
            ["approve", "deny"],
          );
          const outcome = await worker.evaluate(
            (data: unknown) =>
              // deno-lint-ignore no-explicit-any
              (globalThis as any).agentopsNotificationClick({ tag: "t", data, close() {} }, "deny"),
            notification.options.data,
          );
          assertEquals(outcome.decided?.status, "DENIED", JSON.stringify(outcome));
          const out = await hook;
          assertEquals(out.json?.permission, "deny", JSON.stringify(out.json));
          // deno-lint-ignore no-explicit-any
          assertEquals(await worker.evaluate(() => (globalThis as any).__opened), []);

          // A dangerous command offers no decision from the notification: only "open the app".
          await worker.evaluate(() => {
            // deno-lint-ignore no-explicit-any
            (globalThis as any).__shown = [];
          });
          await session.send("ServiceWorker.deliverPushMessage", {
            origin: new URL(app.url).origin,
            registrationId: registration.registrationId,
            data: JSON.stringify({
              ...push,
              data: { ...(push.data as Record<string, string>), requires_unlock: "true" },
            }),
          });
          await eventually(
            // deno-lint-ignore no-explicit-any
            async () => (await worker.evaluate(() => (globalThis as any).__shown.length)) > 0,
            "the worker to show the dangerous command's notification",
            60_000,
          );
          // deno-lint-ignore no-explicit-any
          const [dangerous] = await worker.evaluate(() => (globalThis as any).__shown);
          assertEquals(dangerous.options.actions.map((a: { action: string }) => a.action), [
            "open",
          ]);
          await session.detach();
        },
      );

      await t.step(
        "the timeline verifies in the browser, and a tampered event is flagged",
        async () => {
          const [run] = await stack.sql`select id from runs`;
          await page.goto(`${app.url}#/runs`, { waitUntil: "load" });
          await page.waitForSelector(`a[href="#/runs/${run.id}"]`);
          await screenshot(page, "runs");
          await assertAccessible(page, "runs");
          await page.click(`a[href="#/runs/${run.id}"]`);
          await waitForText(page, "[data-testid=chain]", /Timeline verified/);
          await assertAccessible(page, "timeline");
          // decisions with their notes and deciding device, from the app and the notification
          await waitForText(
            page,
            "li[data-seq]",
            /APPROVED, note: “fine, then tag the release” on this device/,
          );
          await waitForText(page, "li[data-seq]", /DENIED on this device/);
          await page.type("#instruction", "also update the changelog");
          await page.click("form.card button[type=submit]");
          await waitForText(page, "[role=status]", /Queued: the agent gets/);
          const [instruction] = await stack.sql`
            select text from run_instructions where run_id = ${run.id}`;
          assertEquals(instruction.text, "also update the changelog");
          // INSTRUCTION_QUEUED arrives by the timeline's long-poll, and the chain still holds
          await waitForText(page, "li[data-seq]", /Instruction queued: also update the changelog/);
          const [{ n }] = await stack.sql`
            select count(*)::int as n from events where run_id = ${run.id}`;
          await waitForText(page, "[data-testid=chain]", new RegExp(`verified: all ${n} events`));
          await screenshot(page, "timeline");
          const [target] = await stack.sql`
          select id, seq from events where run_id = ${run.id} and type = 'APPROVAL_DECIDED'
          order by seq limit 1`;
          await stack.sql`
          update events set payload = jsonb_set(payload, '{note}', '"rewritten"')
          where id = ${target.id}`;
          await page.reload({ waitUntil: "load" });
          const flagged = await waitForText(page, "[data-testid=chain]", /Timeline check failed/);
          assert(flagged.includes(`event ${target.seq}`), flagged);
          await page.waitForSelector(`li.altered[data-seq="${target.seq}"]`);
          await screenshot(page, "timeline-tampered");
        },
      );

      await t.step(
        "the devices screen is accessible at 360 px, the app installable, the offline state shown",
        async () => {
          await page.goto(`${app.url}#/devices`, { waitUntil: "load" });
          await waitForText(page, "main h3", /web-e2e/);
          await page.waitForSelector("#push-switch:checked");
          // installable: a manifest with PNG icons, standalone display, a controlling worker
          // (headless Chromium's Page.getInstallabilityErrors answers [] for any page: unused)
          const manifest = await page.evaluate(async () => {
            const link = document.querySelector("link[rel=manifest]") as HTMLLinkElement;
            return await (await fetch(link.href)).json();
          });
          assertEquals(manifest.display, "standalone");
          assert(
            manifest.icons.some((i: { sizes: string; type: string }) =>
              i.sizes === "512x512" && i.type === "image/png"
            ),
          );
          assert(await page.evaluate(() => navigator.serviceWorker.controller !== null));
          await screenshot(page, "devices");
          await assertAccessible(page, "devices");
          await page.setOfflineMode(true);
          await page.reload({ waitUntil: "load" });
          await page.waitForSelector("[data-testid=offline]");
          await waitForText(page, "[role=alert]", /^Offline: Cannot reach/);
          await screenshot(page, "offline");
          await page.setOfflineMode(false);
        },
      );
      console.log(`web app: ${app.eagerGzip} B of JS gzipped at first load`);
    } finally {
      await browser?.close();
      await project.close();
      await app.close();
      await stack.close();
      await pushService.close();
    }
  },
});
