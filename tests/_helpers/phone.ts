// The phone in end-to-end tests: the real @supabase/supabase-js client, calling the
// functions with functions.invoke as the mobile app does.
import { createClient, FunctionsHttpError, type SupabaseClient } from "@supabase/supabase-js";
import type { Json, Stack } from "./stack.ts";

/** A supabase-js client that sends the given access token (the local stack does not check
 * the anon key, as `supabase start` would). */
export function phoneClient(stack: Pick<Stack, "baseUrl">, accessToken: string): SupabaseClient {
  return createClient(stack.baseUrl, "anon-key-not-checked", {
    global: { headers: { Authorization: `Bearer ${accessToken}` } },
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
  });
}

/** functions.invoke, with the HTTP status and the JSON body of errors too. */
export async function invoke(
  client: SupabaseClient,
  name: string,
  body: unknown,
): Promise<{ status: number; body: Json }> {
  const { data, error, response } = await client.functions.invoke(name, {
    body: body as Record<string, unknown>,
  });
  if (error instanceof FunctionsHttpError) {
    const res = error.context as Response;
    return { status: res.status, body: await res.json() };
  }
  if (error) throw error;
  return { status: response?.status ?? 200, body: data };
}
