// Pair tokens (docs/contract/security.md#pair-tokens): 8 Crockford base32 characters from the
// CSPRNG, shown to the user once and stored only as a SHA-256 hash. What the user types back is
// read the Crockford way: any case, hyphens and spaces ignored, O as 0, I and L as 1.
import { sha256Hex } from "@shared/signing.ts";

export const CROCKFORD_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const PAIR_TOKEN_LENGTH = 8;
export const PAIR_TOKEN_TTL_SECONDS = 600;

/** A new token: each character from one random byte's low 5 bits (32 divides 256, so no
 * modulo bias). */
export function newPairToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(PAIR_TOKEN_LENGTH));
  let token = "";
  for (const b of bytes) token += CROCKFORD_ALPHABET[b & 31];
  return token;
}

/** The canonical form of what a user typed: upper case, separators dropped, aliases
 * mapped. The result may still be malformed; it then matches no stored hash. */
export function normalizePairToken(input: string): string {
  return input.toUpperCase().replace(/[\s-]+/g, "").replaceAll("O", "0").replace(/[IL]/g, "1");
}

/** SHA-256 hex of the canonical token: what private.pair_tokens stores. */
export function hashPairToken(input: string): Promise<string> {
  return sha256Hex(normalizePairToken(input));
}

/** agentops://pair?token=<token>, for the QR code. */
export function pairingUri(token: string): string {
  return `agentops://pair?token=${encodeURIComponent(token)}`;
}
