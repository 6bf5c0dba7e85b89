// The service worker: keeps the app shell for offline use, shows approval pushes as
// notifications with Approve / Deny, and decides from the notification through the push's
// single-use decision token (POST /push-decision) without opening the app. A command the
// server marks dangerous (data.requires_unlock "true") only offers "Open", so it is decided
// in the app on an unlocked device. Bundled on its own by web/build.mjs (a classic script).
import { ApiError, errorFromResponse, errorWords, OfflineError } from "./errors.ts";
import { SETTINGS_CACHE, SETTINGS_KEY, type WorkerSettings } from "./push.ts";

// The few worker types used here (the project type-checks web/ with the DOM library).
interface ExtendableEvent extends Event {
  waitUntil(promise: Promise<unknown>): void;
}
interface PushEvent extends ExtendableEvent {
  data: { json(): unknown } | null;
}
interface FetchEvent extends ExtendableEvent {
  request: Request;
  respondWith(response: Promise<Response>): void;
}
interface NotificationLike {
  tag: string;
  data: unknown;
  close(): void;
}
interface NotificationClickEvent extends ExtendableEvent {
  notification: NotificationLike;
  action: string;
}
interface WindowClientLike {
  url: string;
  focus(): Promise<unknown>;
  navigate(url: string): Promise<unknown>;
}
interface WorkerScope {
  registration: ServiceWorkerRegistration;
  clients: {
    matchAll(options: { type: "window"; includeUncontrolled: boolean }): Promise<
      WindowClientLike[]
    >;
    openWindow(url: string): Promise<unknown>;
    claim(): Promise<void>;
  };
  skipWaiting(): Promise<void>;
  addEventListener(type: string, listener: (event: never) => void): void;
  location: Location;
  /** for tests, which cannot click a notification: the notificationclick logic itself */
  agentopsNotificationClick?: typeof notificationClick;
}

declare const __PRECACHE__: string[];
declare const __BUILD_ID__: string;
const worker = globalThis as unknown as WorkerScope;
const SHELL_CACHE = `agentops-shell-${__BUILD_ID__}`;

/** What the backend's Web Push payload holds (supabase/functions/_shared/webpush.ts). */
export interface PushPayload {
  title?: string;
  body?: string;
  tag?: string;
  silent?: boolean;
  data?: Record<string, string | undefined>;
}

export interface ClickOutcome {
  decided?: { status: string };
  error?: string;
  opened?: string;
}

worker.addEventListener("install", (event: ExtendableEvent) => {
  event.waitUntil(
    caches.open(SHELL_CACHE).then((cache) => cache.addAll(__PRECACHE__))
      .then(() => worker.skipWaiting()),
  );
});

worker.addEventListener("activate", (event: ExtendableEvent) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith("agentops-shell-") && name !== SHELL_CACHE) await caches.delete(name);
    }
    await worker.clients.claim();
  })());
});

// The app shell from the network when it answers (so a new build shows), else the cache; the
// API (another origin) is never cached: the app shows "offline" instead of old decisions.
worker.addEventListener("fetch", (event: FetchEvent) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== worker.location.origin) return;
  event.respondWith((async () => {
    const cache = await caches.open(SHELL_CACHE);
    try {
      const fresh = await fetch(event.request);
      if (fresh.ok) {
        await cache.put(event.request, fresh.clone());
      }
      return fresh;
    } catch (error) {
      const cached = await cache.match(event.request, { ignoreSearch: true }) ??
        (event.request.mode === "navigate" ? await cache.match("./") : undefined);
      if (cached) return cached;
      throw error;
    }
  })());
});

worker.addEventListener("push", (event: PushEvent) => {
  let payload: PushPayload = {};
  try {
    payload = (event.data?.json() ?? {}) as PushPayload;
  } catch { /* not JSON: show a plain notification */ }
  event.waitUntil(showPush(payload));
});

/** The notification for a push: an approval with its actions, a run's end, or (silent) the
 * clearing of an approval decided elsewhere. */
export async function showPush(payload: PushPayload): Promise<void> {
  const data = payload.data ?? {};
  const registration = worker.registration;
  if (payload.silent || data.type === "approval_resolved") {
    const tag = data.approval_id ?? payload.tag;
    for (const shown of await registration.getNotifications(tag ? { tag } : undefined)) {
      shown.close();
    }
    return;
  }
  const options: NotificationOptions & { actions?: { action: string; title: string }[] } = {
    body: payload.body ?? "",
    tag: payload.tag ?? data.approval_id ?? data.run_id,
    data,
    icon: "icon-192.png",
  };
  if (data.type === "approval") {
    options.requireInteraction = true;
    options.actions = data.requires_unlock === "true"
      ? [{ action: "open", title: "Open to decide (dangerous)" }]
      : [{ action: "approve", title: "Approve" }, { action: "deny", title: "Deny" }];
  }
  await registration.showNotification(payload.title ?? "AgentOps", options);
}

async function functionsUrl(): Promise<string> {
  const cache = await caches.open(SETTINGS_CACHE);
  const entry = await cache.match(SETTINGS_KEY);
  if (!entry) throw new Error("the app has not been opened since it was installed");
  return ((await entry.json()) as WorkerSettings).functions_url;
}

/** Decides with the push's decision token, or opens the app where it must decide. */
export async function notificationClick(
  notification: NotificationLike,
  action: string,
): Promise<ClickOutcome> {
  const data = (notification.data ?? {}) as Record<string, string | undefined>;
  notification.close();
  const decision = action === "approve" ? "APPROVE" : action === "deny" ? "DENY" : null;
  if (
    data.type === "approval" && decision && data.requires_unlock !== "true" &&
    data.decision_token
  ) {
    try {
      const base = await functionsUrl();
      let res: Response;
      try {
        res = await fetch(`${base}/push-decision`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ decision_token: data.decision_token, decision }),
        });
      } catch {
        throw new OfflineError(`Cannot reach ${new URL(base).host}`);
      }
      if (!res.ok) throw await errorFromResponse(res);
      const decided = await res.json() as { status: string };
      await notifyQuietly(
        decision === "APPROVE" ? "Approved" : "Denied",
        "Your answer is on its way to the agent.",
        data.approval_id,
      );
      return { decided };
    } catch (error) {
      const words = errorWords(error);
      await notifyQuietly("Could not decide from the notification", words, data.approval_id);
      if (!(error instanceof ApiError && error.status < 500)) await openApp("#/inbox");
      return { error: words };
    }
  }
  const target = data.type === "run" && data.run_id ? `#/runs/${data.run_id}` : "#/inbox";
  await openApp(target);
  return { opened: target };
}

async function notifyQuietly(title: string, body: string, tag?: string): Promise<void> {
  try {
    await worker.registration.showNotification(title, { body, tag, icon: "icon-192.png" });
  } catch { /* notifications blocked: the app shows the state when opened */ }
}

async function openApp(hash: string): Promise<void> {
  const url = new URL(`./${hash}`, worker.registration.scope).href;
  const windows = await worker.clients.matchAll({ type: "window", includeUncontrolled: true });
  if (windows.length) {
    await windows[0].navigate(url).catch(() => {});
    await windows[0].focus();
    return;
  }
  await worker.clients.openWindow(url);
}

worker.addEventListener("notificationclick", (event: NotificationClickEvent) => {
  event.waitUntil(notificationClick(event.notification, event.action));
});

worker.agentopsNotificationClick = notificationClick;
