// Run ids: the API takes UUIDs. Cursor's conversation_id already is one; Claude Code's
// session_id need not be, so a stable UUID is derived from the provider and the id.
import { sha256Hex } from "./digest.ts";

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID_RE.test(value);
}

/** The id itself when it is a UUID, else a UUIDv5-like id from sha256(provider + ":" + id)
 * (version nibble 5, RFC 4122 variant), the same on every machine. */
export async function toRunId(provider: string, providerRunId: string): Promise<string> {
  if (isUuid(providerRunId)) return providerRunId.toLowerCase();
  const hex = (await sha256Hex(`${provider}:${providerRunId}`)).slice(0, 32).split("");
  hex[12] = "5";
  hex[16] = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
  const h = hex.join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
