// Web Push on this device: the subscription is the device's push token (docs/contract/push.md, Web
// Push: the PushSubscription JSON). The service worker reads the backend's URL from a small
// settings entry in Cache Storage, since it cannot read localStorage.
import type { Api } from "./api.ts";
import type { PushConfig } from "./types.ts";

export const SETTINGS_CACHE = "agentops-settings";
export const SETTINGS_KEY = "/__agentops_settings";

export interface WorkerSettings {
  functions_url: string;
}

export async function saveWorkerSettings(settings: WorkerSettings): Promise<void> {
  if (!("caches" in globalThis)) return;
  const cache = await caches.open(SETTINGS_CACHE);
  await cache.put(SETTINGS_KEY, new Response(JSON.stringify(settings)));
}

export function pushSupported(): boolean {
  return "serviceWorker" in navigator && "PushManager" in globalThis &&
    "Notification" in globalThis;
}

export async function currentSubscription(): Promise<PushSubscription | null> {
  if (!pushSupported()) return null;
  const registration = await navigator.serviceWorker.ready;
  return await registration.pushManager.getSubscription();
}

function keyBytes(base64url: string): Uint8Array<ArrayBuffer> {
  const b64 = base64url.replaceAll("-", "+").replaceAll("_", "/");
  const binary = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/** Asks for permission and subscribes with the backend's VAPID key; the subscription's
 * JSON (the push token), or an explanation of why there is none. */
export async function subscribe(api: Api): Promise<{ token: string } | { problem: string }> {
  if (!pushSupported()) return { problem: "This browser cannot receive Web Push." };
  const { vapid_public_key } = await api.get<PushConfig>("push-config");
  if (!vapid_public_key) {
    return { problem: "The backend has no Web Push key (VAPID) configured." };
  }
  const permission = await Notification.requestPermission();
  if (permission !== "granted") {
    return { problem: `Notifications are ${permission} for this site in the browser settings.` };
  }
  const registration = await navigator.serviceWorker.ready;
  const existing = await registration.pushManager.getSubscription();
  const subscription = existing ?? await registration.pushManager.subscribe({
    userVisibleOnly: true,
    applicationServerKey: keyBytes(vapid_public_key),
  });
  return { token: JSON.stringify(subscription) };
}

/** Push off: the browser forgets the subscription, so the push service answers the backend
 * 404/410 and the backend clears the device's token (docs/contract/push.md#dead-tokens). */
export async function unsubscribe(): Promise<void> {
  const subscription = await currentSubscription();
  await subscription?.unsubscribe();
}
