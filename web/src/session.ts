// Who the app is to the backend. Hosted (config has a Supabase URL and anon key): supabase-js
// anonymous sign-in, whose session supabase-js keeps and refreshes, and Realtime broadcasts
// that wake the app early. Local stack (no Auth server): `POST /dev-sign-in` (docs/web-api.md),
// which only a local stack offers. Either way the app then makes the same function calls.
import { ApiError, errorFromResponse, OfflineError } from "./errors.ts";
import { load, save } from "./store.ts";

export interface AppConfig {
  functionsUrl: string;
  supabaseUrl: string | null;
  anonKey: string | null;
  /** the build names its backend (config.json): nothing else may change it */
  fixed: boolean;
  /** the backend was chosen on this device by a confirmed pairing link (unconfigured build) */
  chosen: boolean;
}

/** The local stack's address, for a build that names no backend (local development). */
export const DEFAULT_FUNCTIONS_URL = "http://127.0.0.1:54321/functions/v1";

export interface Session {
  userId: string;
  /** a valid access token, renewed before it expires */
  token(): Promise<string>;
  /** calls `changed` whenever something of these workspaces changes (hosted only) */
  watch?(workspaceIds: string[], changed: () => void): () => void;
  /** hosted only, for an anonymous user: links an email to this same user (Supabase sends
   * a confirmation link), so the pairings survive a new browser; the user id stays */
  keepWithEmail?(email: string): Promise<void>;
  /** the account's email once one is linked (hosted only) */
  email?: string | null;
}

/** `config.json` beside the app (written by web/build.mjs). When it names a backend, that is
 * the backend, whatever a link says: a link must not be able to send the user's tokens
 * elsewhere. Only a build that names none (local development) takes a backend the user
 * confirmed from a pairing link (kept in storage), else the local stack's default. */
export async function loadConfig(): Promise<AppConfig> {
  let file: Record<string, string | null> = {};
  try {
    const res = await fetch(new URL("config.json", document.baseURI), { cache: "no-cache" });
    if (res.ok) file = await res.json();
  } catch { /* offline: the cached copy is served by the service worker, or defaults */ }
  const supabaseUrl = file.supabase_url || null;
  const anonKey = file.supabase_anon_key || null;
  const configured = file.functions_url ||
    (supabaseUrl ? `${supabaseUrl.replace(/\/+$/, "")}/functions/v1` : null);
  if (configured) {
    save("functions_url", null);
    return { functionsUrl: configured, supabaseUrl, anonKey, fixed: true, chosen: false };
  }
  const stored = load("functions_url");
  return {
    functionsUrl: stored || DEFAULT_FUNCTIONS_URL,
    supabaseUrl,
    anonKey,
    fixed: false,
    chosen: Boolean(stored),
  };
}

/** Keeps (or with null forgets) the backend a confirmed pairing link chose; takes effect at
 * the next load, and only on a build that names no backend. */
export function chooseBackend(functionsUrl: string | null): void {
  save("functions_url", functionsUrl);
}

interface DevSession {
  access_token: string;
  expires_at: number;
  user: { id: string };
}

/** The backend answers but has no dev sign-in: it is not a local stack. */
function noDevSignIn(functionsUrl: string): ApiError {
  return new ApiError(
    404,
    "not_found",
    `${new URL(functionsUrl).origin} offers no dev sign-in, so it is not a local stack: build ` +
      "the app with SUPABASE_URL and SUPABASE_ANON_KEY (README, Web app) to sign in with " +
      "Supabase Auth",
  );
}

/** Whether anything answers at `functionsUrl` (push-config needs no sign-in). */
async function backendAnswers(functionsUrl: string): Promise<boolean> {
  try {
    await fetch(`${functionsUrl}/push-config`);
    return true;
  } catch {
    return false;
  }
}

async function devSignIn(functionsUrl: string): Promise<DevSession> {
  const userId = load("dev_user_id");
  let res: Response;
  try {
    res = await fetch(`${functionsUrl}/dev-sign-in`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(userId ? { user_id: userId } : {}),
    });
  } catch {
    // A backend without dev-sign-in fails its CORS preflight (a 404 is no answer to a
    // preflight, with or without CORS headers), which fetch reports like no network at all.
    if (await backendAnswers(functionsUrl)) throw noDevSignIn(functionsUrl);
    throw new OfflineError(`Cannot reach ${new URL(functionsUrl).host} to sign in`);
  }
  if (res.status === 404) throw noDevSignIn(functionsUrl);
  if (!res.ok) throw await errorFromResponse(res);
  const session = await res.json() as DevSession;
  save("dev_user_id", session.user.id);
  return session;
}

/** Signs in (or resumes) on the local stack's dev path or with Supabase Auth. */
export async function signIn(config: AppConfig): Promise<Session> {
  if (config.supabaseUrl && config.anonKey) return await supabaseSignIn(config);
  let current = await devSignIn(config.functionsUrl);
  return {
    userId: current.user.id,
    async token() {
      if (current.expires_at * 1000 - Date.now() < 60_000) {
        current = await devSignIn(config.functionsUrl);
      }
      return current.access_token;
    },
  };
}

async function supabaseSignIn(config: AppConfig): Promise<Session> {
  // Loaded only on a hosted project, so the local app's bundle stays small.
  const { createClient } = await import("@supabase/supabase-js");
  const supabase = createClient(config.supabaseUrl!, config.anonKey!);
  let { data } = await supabase.auth.getSession();
  if (!data.session) {
    const signed = await supabase.auth.signInAnonymously();
    if (signed.error) throw new Error(`Cannot sign in anonymously: ${signed.error.message}`);
    data = { session: signed.data.session! };
  }
  const userId = data.session!.user.id;
  await supabase.realtime.setAuth();
  return {
    userId,
    email: data.session!.user.email ?? null,
    async keepWithEmail(email) {
      // Supabase's conversion of an anonymous user: the same user id, a new identity.
      const { error } = await supabase.auth.updateUser({ email });
      if (error) throw new Error(`Cannot link ${email}: ${error.message}`);
    },
    async token() {
      const { data } = await supabase.auth.getSession();
      if (!data.session) throw new Error("Signed out: reload the app to sign in again");
      return data.session.access_token;
    },
    watch(workspaceIds, changed) {
      const channels = workspaceIds.map((id) =>
        supabase.channel(`workspace:${id}`, { config: { private: true } })
          .on("broadcast", { event: "*" }, () => changed())
          .subscribe()
      );
      return () => {
        for (const channel of channels) supabase.removeChannel(channel);
      };
    },
  };
}
