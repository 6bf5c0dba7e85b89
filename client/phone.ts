// `agentops phone …`: a stand-in phone for trying the system without the mobile app. It
// calls the mobile functions with supabase-js like the app does, and reads approvals and
// timelines as the `authenticated` role under RLS: through PostgREST (supabase-js) on a
// Supabase project, or, against the local stack (which has no PostgREST), straight from
// Postgres with the same role switch PostgREST makes.
import type { SupabaseClient } from "@supabase/supabase-js";
import * as jose from "jose";
import postgres from "postgres";
import { configHome } from "./project.ts";
import { explainDatabase, networkReason } from "./net_errors.ts";
import type * as v from "valibot";
import type { RuleResponse, RulesListResponse } from "../shared/api_schemas.ts";

/** The Supabase CLI's local JWT secret (docs/contract/configuration.md#local-stack). */
const LOCAL_JWT_SECRET = "super-secret-jwt-token-with-at-least-32-characters-long";
const LOCAL_DATABASE_URL = "postgresql://postgres:postgres@127.0.0.1:54322/postgres";

/** The local stack's database: `npm run dev`'s embedded PostgreSQL, on DB_PORT if set. */
function localDatabaseUrl(): string {
  const port = Deno.env.get("DB_PORT");
  return port ? LOCAL_DATABASE_URL.replace(":54322/", `:${port}/`) : LOCAL_DATABASE_URL;
}

/** The database the CLI reads (the audit, the stand-in phone against the local stack):
 * AGENTOPS_DATABASE_URL, else DATABASE_URL, else the local stack's when the backend is. */
export function databaseUrlFor(functionsUrl: string): string | undefined {
  return Deno.env.get("AGENTOPS_DATABASE_URL") ?? Deno.env.get("DATABASE_URL") ??
    (isLocalUrl(functionsUrl) ? localDatabaseUrl() : undefined);
}

interface PhoneState {
  user_id: string;
  device_id?: string;
}

function isLocalUrl(url: string): boolean {
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
async function mintDevToken(userId: string, secret = LOCAL_JWT_SECRET): Promise<string> {
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

/** supabase-js, without its import-time "Node.js 20 is deprecated" warning: the stand-in
 * phone runs on the Node 20 that agent users have, and uses no Realtime (the one part that
 * needs Node 22's WebSocket). */
async function loadSupabase(): Promise<typeof import("@supabase/supabase-js")> {
  const warn = console.warn;
  console.warn = () => {};
  try {
    return await import("@supabase/supabase-js");
  } finally {
    console.warn = warn;
  }
}

/** Stands in for WebSocket where Node has none (Node 20); never used: no Realtime here. */
class NoWebSocket {
  constructor() {
    throw new Error("Realtime needs a WebSocket (Node 22 or later)");
  }
}

export async function connectPhone(functionsUrl: string): Promise<Phone> {
  const state = await loadPhoneState();
  const token = await accessToken(functionsUrl, state.user_id);
  const baseUrl = functionsUrl.replace(/\/functions\/v1\/?$/, "");
  const { createClient } = await loadSupabase();
  const transport = (globalThis.WebSocket ?? NoWebSocket) as typeof WebSocket;
  const supabase = createClient(baseUrl, Deno.env.get("AGENTOPS_ANON_KEY") ?? "anon", {
    global: { headers: { Authorization: `Bearer ${token}` } },
    auth: { persistSession: false, autoRefreshToken: false },
    realtime: { transport },
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
    if (res instanceof Error || networkReason(res)) throw res; // names the URL (net_errors.ts)
    if (res && typeof res.json === "function") {
      const json = await res.json().catch(() => null);
      if (json?.error) detail = `${json.error.code}: ${json.error.message}`;
    }
    throw new Error(`${name} failed: ${detail}`);
  }
  return data as T;
}

interface ApprovalRow {
  id: string;
  run_id: string;
  workspace_id: string;
  command: string;
  status: string;
  requested_at: string;
  expires_at: string;
}

interface EventRow {
  seq: number;
  type: string;
  event_ts: string;
  payload: Record<string, unknown>;
}

/** What a timeline line shows beside an event: the approval's rule, the deciding device. */
interface TimelineDetails {
  /** approval id → the policy rule that asked for it */
  rules: Record<string, string>;
  /** device id → its name */
  devices: Record<string, string>;
}

interface RunRow {
  id: string;
  workspace_id: string;
  provider: string;
  status: string;
  last_message: string | null;
  last_event_at: string;
}

/** What the phone reads, always as the `authenticated` role under RLS. */
interface PhoneReader {
  pendingApprovals(): Promise<ApprovalRow[]>;
  runs(): Promise<RunRow[]>;
  events(runId: string, afterSeq: number): Promise<EventRow[]>;
  timelineDetails(runId: string): Promise<TimelineDetails>;
  /** runs reads, turning a failed connection into an error that names where it went */
  explain<T>(run: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Reads through PostgREST (a Supabase project). */
function restReader(phone: Phone): PhoneReader {
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
    async timelineDetails(runId) {
      const approvals = await db.from("approvals").select("id, context").eq("run_id", runId);
      const devices = await db.from("devices").select("id, device_name, platform");
      return toDetails(approvals.data ?? [], devices.data ?? []);
    },
    explain: (run) => run(),
    async close() {},
  };
}

/** Reads straight from Postgres as PostgREST would: `set local role authenticated` with
 * the user's claims, so RLS decides exactly as it does for the app. */
function sqlReader(databaseUrl: string, userId: string): PhoneReader {
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
    timelineDetails: (runId) =>
      asUser(async (tx) =>
        toDetails(
          await tx`select id, context from public.approvals where run_id = ${runId}`,
          await tx`select id, device_name, platform from public.devices`,
        )
      ),
    explain: (run) => explainDatabase(databaseUrl, run),
    close: () => sql.end({ timeout: 1 }),
  };
}

function toDetails(
  approvals: readonly { id: string; context: unknown }[],
  devices: readonly { id: string; device_name: string | null; platform: string }[],
): TimelineDetails {
  const rules: Record<string, string> = {};
  for (const a of approvals) {
    const rule = (a.context as { rule?: unknown } | null)?.rule;
    if (typeof rule === "string") rules[a.id] = rule;
  }
  const names: Record<string, string> = {};
  for (const d of devices) names[d.id] = d.device_name ?? d.platform;
  return { rules, devices: names };
}

/** SQL against the local stack (or AGENTOPS_DATABASE_URL), PostgREST elsewhere. */
export function readerFor(phone: Phone): PhoneReader {
  const databaseUrl = Deno.env.get("AGENTOPS_DATABASE_URL") ??
    (isLocalUrl(phone.functionsUrl) ? localDatabaseUrl() : undefined);
  return databaseUrl ? sqlReader(databaseUrl, phone.userId) : restReader(phone);
}

function text(value: unknown): string | null {
  return typeof value === "string" && value !== "" ? value : null;
}

/** What an event says, beyond its type: the decision with its note and device, the
 * command with the rule that asked, an instruction's text, a run's message. */
function describeEvent(e: EventRow, details?: TimelineDetails): string {
  const p = e.payload ?? {};
  const approval = text(p.approval_id);
  switch (e.type) {
    case "APPROVAL_REQUESTED": {
      const rule = approval ? details?.rules[approval] : undefined;
      return [text(p.command) ?? "", rule ? `[rule: ${rule}]` : "", approval ? `(${approval})` : ""]
        .filter(Boolean).join("  ");
    }
    case "APPROVAL_DECIDED": {
      const device = text(p.decided_by_device_id);
      const by = device ? ` by ${details?.devices[device] ?? "device"} (${device})` : "";
      const note = text(p.note);
      return `${text(p.status) ?? "decided"}${by}${note ? `  note: ${JSON.stringify(note)}` : ""}` +
        (approval ? `  (${approval})` : "");
    }
    case "APPROVAL_EXPIRED":
      return approval ? `(${approval})` : "";
    case "INSTRUCTION_QUEUED":
      return text(p.text) ?? "";
    case "INSTRUCTION_DELIVERED":
      return `delivered to the agent${p.instruction_id ? ` (${p.instruction_id})` : ""}`;
    default:
      return text(p.message) ?? text(p.text) ?? text(p.command) ?? "";
  }
}

/** One line of a timeline. */
export function formatEvent(e: EventRow, details?: TimelineDetails): string {
  const ts = new Date(e.event_ts).toISOString();
  return `${String(e.seq).padStart(4)}  ${ts}  ${e.type.padEnd(22)} ${describeEvent(e, details)}`
    .trimEnd();
}

/** A mobile function called with GET (supabase-js invoke sends a body): `path` includes
 * the query. */
async function invokeGet<T>(phone: Phone, path: string): Promise<T> {
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

type RuleRow = v.InferOutput<typeof RuleResponse>;

/** One line of `agentops phone rules`. */
function formatRule(r: RuleRow): string {
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
    const out = await invokeGet<v.InferOutput<typeof RulesListResponse>>(
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
