import {
  assert,
  assertEquals,
  assertMatch,
  assertNotEquals,
} from "../../../tests/_helpers/assert.ts";
import {
  CROCKFORD_ALPHABET,
  hashPairToken,
  newPairToken,
  normalizePairToken,
  pairingUri,
} from "./pair_token.ts";
import { sha256Hex } from "@shared/signing.ts";

Deno.test("newPairToken() makes 8 Crockford base32 characters", () => {
  for (let i = 0; i < 200; i++) assertMatch(newPairToken(), /^[0-9A-HJKMNP-TV-Z]{8}$/);
});

Deno.test("newPairToken() uses every character of the alphabet about equally", () => {
  const counts = new Map<string, number>();
  const tokens = 4000;
  for (let i = 0; i < tokens; i++) {
    for (const c of newPairToken()) counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  assertEquals(counts.size, 32);
  const expected = (tokens * 8) / 32;
  for (const c of CROCKFORD_ALPHABET) {
    const n = counts.get(c) ?? 0;
    // 1000 expected per character; 6 standard deviations (~190) either way
    assert(Math.abs(n - expected) < 200, `${c} appeared ${n} times, expected about ${expected}`);
  }
});

Deno.test("newPairToken() does not repeat itself", () => {
  const seen = new Set(Array.from({ length: 1000 }, newPairToken));
  assertEquals(seen.size, 1000);
});

Deno.test("normalizePairToken() reads any case, hyphens, spaces and the Crockford aliases", () => {
  assertEquals(normalizePairToken("abcd-efgh"), "ABCDEFGH");
  assertEquals(normalizePairToken(" 1o2i 3l4O "), "10213140");
  assertEquals(normalizePairToken("ABCD1234"), "ABCD1234");
});

Deno.test("hashPairToken() hashes the canonical form, so typed variants match", async () => {
  const canonical = await sha256Hex("A0B1C1D1");
  assertEquals(await hashPairToken("A0B1C1D1"), canonical);
  assertEquals(await hashPairToken("aob1-cid-l"), canonical);
  assertNotEquals(await hashPairToken("A0B1C1D2"), canonical);
});

Deno.test("pairingUri() is agentops://pair?token=<token>", () => {
  assertEquals(pairingUri("ABCD1234"), "agentops://pair?token=ABCD1234");
});
