// Helpers for the pairing tests: the extension's pair-start and pair-status (signed by the
// project's own signer) and the phone's pair-complete (supabase-js functions.invoke).
import type { SupabaseClient } from "@supabase/supabase-js";
import { assertEquals } from "./assert.ts";
import {
  type BridgeCredentials,
  bridgeFetch,
  fetchJson,
  type Json,
  mintUserToken,
  type Stack,
} from "./stack.ts";
import { invoke, phoneClient } from "./phone.ts";

export interface Started {
  pair_token: string;
  expires_at: string;
  workspace_id: string;
  bridge_secret: string;
  pairing_uri: string;
}

/** A pair-start body for a new machine and project. */
export function machine() {
  return {
    machine_id: crypto.randomUUID(),
    workspace_fingerprint: `fp-${crypto.randomUUID()}`,
    display_name: "agentops-backend",
  };
}

/** POST /pair-start. */
export async function pairStart(
  stack: Stack,
  body: Json = machine(),
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Json; headers: Headers }> {
  return await fetchJson(`${stack.functionsUrl}/pair-start`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

/** POST /pair-start signed with a workspace's credentials (re-pairing it). */
export async function signedPairStart(
  stack: Stack,
  body: Json,
  credentials: BridgeCredentials,
  options: Parameters<typeof bridgeFetch>[5] = {},
): Promise<{ status: number; body: Json; headers: Headers }> {
  const res = await bridgeFetch(stack, credentials, "POST", "/pair-start", body, options);
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
}

/** POST /pair-start (signed with `signedWith` when given), expected to succeed. */
export async function startPairing(
  stack: Stack,
  body: Json = machine(),
  signedWith?: BridgeCredentials,
): Promise<Started> {
  const res = signedWith
    ? await signedPairStart(stack, body, signedWith)
    : await pairStart(stack, body);
  assertEquals(res.status, 201, JSON.stringify(res.body));
  return res.body;
}

/** The extension's credentials from a pair-start answer. */
export function credentialsOf(s: Started): BridgeCredentials {
  return { workspaceId: s.workspace_id, secret: s.bridge_secret };
}

/** GET /pair-status?wait=…, signed. */
export async function pairStatus(
  stack: Stack,
  credentials: BridgeCredentials,
  wait = 0,
): Promise<{ status: number; body: Json }> {
  const res = await bridgeFetch(stack, credentials, "GET", `/pair-status?wait=${wait}`);
  return { status: res.status, body: await res.json() };
}

/** A pair-complete body (an iPhone on APNs unless overridden). */
export function completeBody(token: string, extra: Json = {}): Json {
  return {
    pair_token: token,
    platform: "ios",
    push_token: `apns-${crypto.randomUUID()}`,
    push_provider: "apns",
    device_name: "Ada's iPhone",
    ...extra,
  };
}

export interface Phone {
  userId: string;
  token: string;
  client: SupabaseClient;
}

/** A user's phone: supabase-js with an access token for a (new) user. */
export async function phoneOf(stack: Stack, userId: string = crypto.randomUUID()): Promise<Phone> {
  const token = await mintUserToken(userId);
  return { userId, token, client: phoneClient(stack, token) };
}

/** The whole dance: pair-start, then the phone's pair-complete. */
export async function pairPhone(
  stack: Stack,
  phone: Phone,
  options: { start?: Json; complete?: Json; signedWith?: BridgeCredentials } = {},
): Promise<{ started: Started; deviceId: string; workspaceId: string }> {
  const started = await startPairing(stack, options.start ?? machine(), options.signedWith);
  const res = await invoke(
    phone.client,
    "pair-complete",
    completeBody(started.pair_token, options.complete),
  );
  assertEquals(res.status, 200, JSON.stringify(res.body));
  return { started, deviceId: res.body.device_id, workspaceId: res.body.workspace_id };
}

/** Rows of a table (a trusted constant). */
export async function count(stack: Stack, table: string): Promise<number> {
  const [row] = await stack.sql.unsafe(`select count(*)::int as n from ${table}`);
  return row.n;
}
