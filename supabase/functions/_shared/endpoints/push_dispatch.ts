// push-dispatch: the outbox sweep on Supabase, called by pg_cron through pg_net (see the
// push migration). POST with `Authorization: Bearer <PUSH_DISPATCH_SECRET>` (or, when that
// is unset, the service role key Supabase injects as SUPABASE_SERVICE_ROLE_KEY); with
// neither configured it refuses every call. Any body is ignored. Out 200: {attempted}.
import { defineEndpoint, jsonResponse } from "../endpoint.ts";
import { HttpError } from "../http_error.ts";
import { sha256Hex } from "../../../../shared/signing.ts";

/** Compares two secrets in constant time (over their SHA-256 digests). */
async function sameSecret(given: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([sha256Hex(given), sha256Hex(expected)]);
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

export const pushDispatch = defineEndpoint({
  name: "push-dispatch",
  method: "POST",
  auth: "none",
  async handle(ctx, deps) {
    const expected = deps.config.PUSH_DISPATCH_SECRET ?? deps.config.SUPABASE_SERVICE_ROLE_KEY;
    if (!expected) {
      throw new HttpError(
        "unauthorized",
        "Cannot run push-dispatch: set PUSH_DISPATCH_SECRET (or SUPABASE_SERVICE_ROLE_KEY)",
      );
    }
    const header = ctx.req.headers.get("authorization") ?? "";
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match || !(await sameSecret(match[1], expected))) {
      throw new HttpError(
        "unauthorized",
        "Cannot run push-dispatch: missing or wrong bearer secret",
        { headers: { "www-authenticate": "Bearer" } },
      );
    }
    const attempted = await deps.push.sweep();
    return jsonResponse({ attempted });
  },
});
