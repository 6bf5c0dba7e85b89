// The app frame: configuration and sign-in, the hash route, the navigation, and the offline
// state every page reports into.
import { useCallback, useEffect, useState } from "preact/hooks";
import { type Api, createApi } from "./api.ts";
import { OfflineError } from "./errors.ts";
import { saveWorkerSettings } from "./push.ts";
import { type AppConfig, loadConfig, type Session, signIn } from "./session.ts";
import { load } from "./store.ts";
import { ErrorText } from "./ui.tsx";
import { PairPage } from "./pair_page.tsx";
import { InboxPage } from "./inbox_page.tsx";
import { RunPage, RunsPage } from "./runs_page.tsx";
import { DevicesPage } from "./devices_page.tsx";

/** What every page gets. */
export interface Ctx {
  api: Api;
  session: Session;
  config: AppConfig;
  /** this browser's device id once paired */
  deviceId: string | null;
  setDeviceId(id: string): void;
  /** pages report each call's outcome: an OfflineError turns the offline banner on */
  report(error: unknown | null): void;
}

export interface Route {
  page: "pair" | "inbox" | "runs" | "run" | "devices";
  id?: string;
  params: URLSearchParams;
}

export function parseRoute(hash: string, paired: boolean): Route {
  const [path, query = ""] = hash.replace(/^#\/?/, "").split("?");
  const [page, id] = path.split("/");
  const params = new URLSearchParams(query);
  if (page === "runs" && id) return { page: "run", id, params };
  if (page === "pair" || page === "inbox" || page === "runs" || page === "devices") {
    return { page, params };
  }
  return { page: paired ? "inbox" : "pair", params };
}

function useHash(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const changed = () => setHash(location.hash);
    addEventListener("hashchange", changed);
    return () => removeEventListener("hashchange", changed);
  }, []);
  return hash;
}

const PAGES: { page: Route["page"]; href: string; label: string }[] = [
  { page: "inbox", href: "#/inbox", label: "Inbox" },
  { page: "runs", href: "#/runs", label: "Runs" },
  { page: "devices", href: "#/devices", label: "Devices" },
  { page: "pair", href: "#/pair", label: "Pair" },
];

export function App() {
  const hash = useHash();
  const [boot, setBoot] = useState<{ config: AppConfig; session: Session; api: Api } | null>(
    null,
  );
  const [bootError, setBootError] = useState<unknown>(null);
  const [attempt, setAttempt] = useState(0);
  const [offline, setOffline] = useState(!navigator.onLine);
  const [deviceId, setDeviceIdState] = useState(load("device_id"));

  useEffect(() => {
    const on = () => setOffline(false);
    const off = () => setOffline(true);
    addEventListener("online", on);
    addEventListener("offline", off);
    return () => {
      removeEventListener("online", on);
      removeEventListener("offline", off);
    };
  }, []);

  useEffect(() => {
    let cancelled = false;
    (async () => {
      try {
        const config = await loadConfig();
        await saveWorkerSettings({ functions_url: config.functionsUrl }).catch(() => {});
        const session = await signIn(config);
        const api = createApi(config.functionsUrl, () => session.token());
        if (!cancelled) {
          setBoot({ config, session, api });
          setBootError(null);
          setOffline(false);
        }
      } catch (error) {
        if (cancelled) return;
        setBootError(error);
        if (error instanceof OfflineError) setOffline(true);
        setTimeout(() => setAttempt((n) => n + 1), 5000);
      }
    })();
    return () => {
      cancelled = true;
    };
  }, [attempt]);

  const report = useCallback((error: unknown | null) => {
    if (error === null) setOffline(!navigator.onLine);
    else if (error instanceof OfflineError) setOffline(true);
  }, []);

  const route = parseRoute(hash, deviceId !== null);
  const ctx: Ctx | null = boot && {
    ...boot,
    deviceId,
    setDeviceId: (id) => setDeviceIdState(id),
    report,
  };

  return (
    <>
      <header>
        <h1>AgentOps</h1>
        <nav aria-label="Main">
          <ul>
            {PAGES.map((p) => (
              <li key={p.page}>
                <a
                  href={p.href}
                  aria-current={route.page === p.page || (route.page === "run" && p.page === "runs")
                    ? "page"
                    : undefined}
                >
                  {p.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
      </header>
      <main>
        <div aria-live="polite">
          {offline && (
            <p class="banner offline" role="status" data-testid="offline">
              Offline: the backend cannot be reached. What you see may be out of date; decisions and
              instructions are not sent until the connection is back.
            </p>
          )}
        </div>
        {!ctx && !bootError && <p role="status">Signing in…</p>}
        {!ctx && bootError !== null && (
          <div>
            <ErrorText error={bootError} />
            <button type="button" onClick={() => setAttempt((n) => n + 1)}>Try again</button>
          </div>
        )}
        {ctx && route.page === "pair" && <PairPage ctx={ctx} params={route.params} />}
        {ctx && route.page === "inbox" && <InboxPage ctx={ctx} />}
        {ctx && route.page === "runs" && <RunsPage ctx={ctx} />}
        {ctx && route.page === "run" && <RunPage ctx={ctx} runId={route.id!} />}
        {ctx && route.page === "devices" && <DevicesPage ctx={ctx} />}
      </main>
    </>
  );
}
