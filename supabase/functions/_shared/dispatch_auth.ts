// The push-dispatch credential: `Authorization: Bearer <PUSH_DISPATCH_SECRET>` (or, when
// that is unset, the service role key Supabase injects as SUPABASE_SERVICE_ROLE_KEY); with
// neither configured every call is refused. Compared in constant time.
import { sha256Hex } from "@shared/signing.ts";
import { HttpError } from "./http_error.ts";

/** Compares two secrets in constant time (over their SHA-256 digests). */
async function sameSecret(given: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([sha256Hex(given), sha256Hex(expected)]);
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** Resolves when `authorization` carries the expected bearer secret; 401 otherwise. */
export async function verifyDispatchBearer(
  authorization: string | null,
  expected: string | undefined,
): Promise<void> {
  if (!expected) {
    throw new HttpError(
      "unauthorized",
      "Cannot run push-dispatch: set PUSH_DISPATCH_SECRET (or SUPABASE_SERVICE_ROLE_KEY)",
    );
  }
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
  if (!match || !(await sameSecret(match[1], expected))) {
    throw new HttpError(
      "unauthorized",
      "Cannot run push-dispatch: missing or wrong bearer secret",
      { headers: { "www-authenticate": "Bearer" } },
    );
  }
}
