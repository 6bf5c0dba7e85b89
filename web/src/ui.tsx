// Small pieces the pages share: an error in words, relative times, a copy button, a loop
// that long-polls with back-off.
import { useEffect, useRef, useState } from "preact/hooks";
import type { Ctx } from "./app.tsx";
import { errorWords } from "./errors.ts";
import type { Workspaces } from "./types.ts";

export function ErrorText({ error }: { error: unknown }) {
  if (error === null || error === undefined) return null;
  return <p class="banner error" role="alert">{errorWords(error)}</p>;
}

export function shortId(id: string): string {
  return id.slice(0, 8);
}

export function timeAgo(iso: string, now = Date.now()): string {
  const s = Math.round((now - Date.parse(iso)) / 1000);
  if (s < 60) return `${Math.max(0, s)} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return new Date(iso).toLocaleString();
}

export function CopyButton({ text, label }: { text: string; label: string }) {
  const [done, setDone] = useState<string | null>(null);
  return (
    <button
      type="button"
      aria-label={label}
      onClick={async () => {
        try {
          await navigator.clipboard.writeText(text);
          setDone("Copied");
        } catch {
          setDone("Copy failed: select the text instead");
        }
      }}
    >
      {done ?? "Copy"}
    </button>
  );
}

/** Runs `step` again and again while mounted: `step` returns when it has something new (a
 * long-poll answered); errors are reported and retried with back-off (1 s → 30 s). `poke`
 * aborts the current step so the next one starts at once. */
export function useLoop(
  step: (signal: AbortSignal) => Promise<void>,
  onError: (error: unknown | null) => void,
  deps: unknown[],
): { poke(): void } {
  const current = useRef<AbortController | null>(null);
  useEffect(() => {
    let stopped = false;
    let delay = 1000;
    (async () => {
      while (!stopped) {
        const controller = new AbortController();
        current.current = controller;
        try {
          await step(controller.signal);
          onError(null);
          delay = 1000;
        } catch (error) {
          if (stopped) break;
          if (controller.signal.aborted) continue;
          onError(error);
          await new Promise((r) => setTimeout(r, delay));
          delay = Math.min(30_000, delay * 2);
        }
      }
    })();
    return () => {
      stopped = true;
      current.current?.abort();
    };
  }, deps);
  return { poke: () => current.current?.abort() };
}

/** The names of the user's devices by id (mobile-workspaces), to say who decided: "this
 * device", a name, or a short id for a device that is not the user's. */
export function useDeviceNames(ctx: Ctx): (id: string) => string {
  const [names, setNames] = useState<Map<string, string>>(new Map());
  useEffect(() => {
    ctx.api.get<Workspaces>("mobile-workspaces")
      .then((out) => {
        setNames(
          new Map(out.devices.map((d) => [d.device_id, d.device_name ?? shortId(d.device_id)])),
        );
      })
      .catch(() => {/* names are a nicety: ids are shown instead */});
  }, []);
  return (id) => id === ctx.deviceId ? "this device" : names.get(id) ?? `device ${shortId(id)}`;
}
