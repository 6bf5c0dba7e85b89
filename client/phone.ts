// `agentops phone …`: a stand-in phone for trying the system without the mobile app. It
// calls the mobile functions with supabase-js like the app does, and reads approvals and
// timelines as the `authenticated` role under RLS: through PostgREST (supabase-js) on a
// Supabase project, or, against the local stack (which has no PostgREST), straight from
// Postgres with the same role switch PostgREST makes.
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import * as jose from "jose";
import postgres from "postgres";
import { configHome } from "./project.ts";

/** The Supabase CLI's local JWT secret (SPEC section 2a). */
export const LOCAL_JWT_SECRET = "super-secret-jwt-token-with-at-least-32-characters-long";
export const LOCAL_DATABASE_URL = "postgresql://postgres:postgres@127.0.0.1:54322/postgres";

export interface PhoneState {
  user_id: string;
  device_id?: string;
}

export function isLocalUrl(url: string): boolean {
  const host = new URL(url).hostname;
  return host === "127.0.0.1" || host === "localhost" || host === "::1" || host === "[::1]";
}

function statePath(): string {
  return Deno.env.get("AGENTOPS_PHONE_STATE") ?? `${configHome()}/phone.json`;
}

export async function loadPhoneState(): Promise<PhoneState> {
  try {
    return JSON.parse(await Deno.readTextFile(statePath()));
  } catch {
    const state = { user_id: crypto.randomUUID() };
    await savePhoneState(state);
    return state;
  }
}

export async function savePhoneState(state: PhoneState): Promise<void> {
  const path = statePath();
  await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true, mode: 0o700 });
  await Deno.writeTextFile(path, JSON.stringify(state, null, 2) + "\n", { mode: 0o600 });
}

/** A Supabase-style access token for the local stack, signed with the local JWT secret. */
export async function mintDevToken(userId: string, secret = LOCAL_JWT_SECRET): Promise<string> {
  return await new jose.SignJWT({ role: "authenticated", is_anonymous: true })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(userId)
    .setAudience("authenticated")
    .setIssuedAt()
    .setExpirationTime("1h")
    .sign(new TextEncoder().encode(secret));
}

/** AGENTOPS_ACCESS_TOKEN, or against the local stack a dev token from the local secret. */
export async function accessToken(functionsUrl: string, userId: string): Promise<string> {
  const given = Deno.env.get("AGENTOPS_ACCESS_TOKEN");
  if (given) return given;
  if (!isLocalUrl(functionsUrl)) {
    throw new Error(
      `Cannot sign in to ${functionsUrl}: set AGENTOPS_ACCESS_TOKEN to a Supabase Auth access token (dev tokens work only against the local stack)`,
    );
  }
  return await mintDevToken(userId, Deno.env.get("SUPABASE_JWT_SECRET") ?? LOCAL_JWT_SECRET);
}

export interface Phone {
  supabase: SupabaseClient;
  userId: string;
  token: string;
  functionsUrl: string;
}

export async function connectPhone(functionsUrl: string): Promise<Phone> {
  const state = await loadPhoneState();
  const token = await accessToken(functionsUrl, state.user_id);
  const baseUrl = functionsUrl.replace(/\/functions\/v1\/?$/, "");
  const supabase = createClient(baseUrl, Deno.env.get("AGENTOPS_ANON_KEY") ?? "anon", {
    global: { headers: { Authorization: `Bearer ${token}` } },
    auth: { persistSession: false, autoRefreshToken: false },
  });
  return { supabase, userId: state.user_id, token, functionsUrl };
}

/** Calls a mobile function; the API's error shape becomes an Error with its code. */
export async function invoke<T>(
  phone: Phone,
  name: string,
  body: Record<string, unknown>,
): Promise<T> {
  const { data, error } = await phone.supabase.functions.invoke(name, { body });
  if (error) {
    const res = (error as { context?: Response }).context;
    let detail = error.message;
    if (res && typeof res.json === "function") {
      const json = await res.json().catch(() => null);
      if (json?.error) detail = `${json.error.code}: ${json.error.message}`;
    }
    throw new Error(`${name} failed: ${detail}`);
  }
  return data as T;
}

export interface ApprovalRow {
  id: string;
  run_id: string;
  workspace_id: string;
  command: string;
  status: string;
  requested_at: string;
  expires_at: string;
}

export interface EventRow {
  seq: number;
  type: string;
  event_ts: string;
  payload: Record<string, unknown>;
}

export interface RunRow {
  id: string;
  workspace_id: string;
  provider: string;
  status: string;
  last_message: string | null;
  last_event_at: string;
}

/** What the phone reads, always as the `authenticated` role under RLS. */
export interface PhoneReader {
  pendingApprovals(): Promise<ApprovalRow[]>;
  runs(): Promise<RunRow[]>;
  events(runId: string, afterSeq: number): Promise<EventRow[]>;
  close(): Promise<void>;
}

/** Reads through PostgREST (a Supabase project). */
export function restReader(phone: Phone): PhoneReader {
  const db = phone.supabase;
  return {
    async pendingApprovals() {
      const { data, error } = await db.from("approvals")
        .select("id, run_id, workspace_id, command, status, requested_at, expires_at")
        .eq("status", "PENDING").order("requested_at", { ascending: true });
      if (error) throw new Error(`Cannot read approvals: ${error.message}`);
      return data as ApprovalRow[];
    },
    async runs() {
      const { data, error } = await db.from("runs")
        .select("id, workspace_id, provider, status, last_message, last_event_at")
        .order("last_event_at", { ascending: false }).limit(20);
      if (error) throw new Error(`Cannot read runs: ${error.message}`);
      return data as RunRow[];
    },
    async events(runId, afterSeq) {
      const { data, error } = await db.from("events")
        .select("seq, type, event_ts, payload")
        .eq("run_id", runId).gt("seq", afterSeq).order("seq", { ascending: true }).limit(500);
      if (error) throw new Error(`Cannot read events: ${error.message}`);
      return data as EventRow[];
    },
    async close() {},
  };
}

/** Reads straight from Postgres as PostgREST would: `set local role authenticated` with
 * the user's claims, so RLS decides exactly as it does for the app. */
export function sqlReader(databaseUrl: string, userId: string): PhoneReader {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {}, prepare: false });
  const claims = JSON.stringify({ sub: userId, role: "authenticated", aud: "authenticated" });
  async function asUser<T>(run: (tx: postgres.TransactionSql) => Promise<T>): Promise<T> {
    return await sql.begin(async (tx) => {
      await tx`select set_config('request.jwt.claims', ${claims}, true)`;
      await tx`set local role authenticated`;
      return await run(tx);
    }) as T;
  }
  return {
    pendingApprovals: () =>
      asUser(async (tx) =>
        (await tx`select id, run_id, workspace_id, command, status, requested_at, expires_at
                  from public.approvals where status = 'PENDING'
                  order by requested_at`) as unknown as ApprovalRow[]
      ),
    runs: () =>
      asUser(async (tx) =>
        (await tx`select id, workspace_id, provider, status, last_message, last_event_at
                  from public.runs order by last_event_at desc limit 20`) as unknown as RunRow[]
      ),
    events: (runId, afterSeq) =>
      asUser(async (tx) =>
        (await tx`select seq, type, event_ts, payload from public.events
                  where run_id = ${runId} and seq > ${afterSeq}
                  order by seq limit 500`) as unknown as EventRow[]
      ),
    close: () => sql.end({ timeout: 1 }),
  };
}

/** SQL against the local stack (or AGENTOPS_DATABASE_URL), PostgREST elsewhere. */
export function readerFor(phone: Phone): PhoneReader {
  const databaseUrl = Deno.env.get("AGENTOPS_DATABASE_URL") ??
    (isLocalUrl(phone.functionsUrl) ? LOCAL_DATABASE_URL : undefined);
  return databaseUrl ? sqlReader(databaseUrl, phone.userId) : restReader(phone);
}

/** One line of a timeline. */
export function formatEvent(e: EventRow): string {
  const ts = new Date(e.event_ts).toISOString();
  const message = typeof e.payload?.message === "string"
    ? e.payload.message
    : typeof e.payload?.text === "string"
    ? e.payload.text
    : typeof e.payload?.command === "string"
    ? e.payload.command
    : "";
  return `${String(e.seq).padStart(4)}  ${ts}  ${e.type.padEnd(22)} ${message}`.trimEnd();
}

/** A mobile function called with GET (supabase-js invoke sends a body): `path` includes
 * the query. */
export async function invokeGet<T>(phone: Phone, path: string): Promise<T> {
  const res = await fetch(`${phone.functionsUrl.replace(/\/+$/, "")}/${path}`, {
    headers: { authorization: `Bearer ${phone.token}` },
  });
  const json = await res.json().catch(() => null);
  if (!res.ok) {
    throw new Error(
      `${path.split("?")[0]} failed: ${json?.error?.code ?? res.status}: ${
        json?.error?.message ?? ""
      }`,
    );
  }
  return json as T;
}

interface RuleRow {
  rule_id: string;
  effect: string;
  match: string;
  value: string;
  expires_at: string;
  note: string | null;
}

/** One line of `agentops phone rules`. */
export function formatRule(r: RuleRow): string {
  return `${r.rule_id}  ${r.effect.padEnd(5)} ${r.match.padEnd(6)} until ${
    new Date(r.expires_at).toISOString()
  }  ${r.value}${r.note ? `  # ${r.note}` : ""}`;
}

/** `agentops phone rules|allow|revoke`: the phone's side of rules (issue 15). */
export async function rulesCommand(
  phone: Phone,
  sub: "rules" | "allow" | "revoke",
  args: string[],
  options: {
    workspaceId?: string;
    match?: string;
    effect?: string;
    expires?: string;
    note?: string;
    device?: string;
  },
): Promise<number> {
  if (sub === "revoke") {
    if (!args[0]) throw new Error("usage: agentops phone revoke <rule_id>");
    const out = await invoke<RuleRow>(phone, `mobile-rule-revoke/${args[0]}`, {});
    console.log(JSON.stringify(out, null, 2));
    return 0;
  }
  if (!options.workspaceId) {
    throw new Error("name the workspace with --workspace <id> (or run it in a paired project)");
  }
  if (sub === "rules") {
    const out = await invokeGet<{ rules: RuleRow[] }>(
      phone,
      `mobile-rules?workspace_id=${encodeURIComponent(options.workspaceId)}`,
    );
    if (out.rules.length === 0) console.log("No active rules.");
    for (const r of out.rules) console.log(formatRule(r));
    return 0;
  }
  if (args.length === 0) {
    throw new Error(
      "usage: agentops phone allow <command…> [--match exact|prefix] [--effect allow|deny] [--expires s] [--note t]",
    );
  }
  const body: Record<string, unknown> = {
    workspace_id: options.workspaceId,
    effect: options.effect ?? "allow",
    match: options.match ?? "prefix",
    value: args.join(" "),
  };
  if (options.expires) body.expires_in_seconds = Number(options.expires);
  if (options.note) body.note = options.note;
  if (options.device) body.device_id = options.device;
  const out = await invoke<RuleRow>(phone, "mobile-rules", body);
  console.log(JSON.stringify(out, null, 2));
  return 0;
}
