import { assertEquals } from "../tests/_helpers/assert.ts";
import {
  deriveBridgeSecret,
  hmacSha256Hex,
  signingBackend,
  signParts,
  v1SignedBytes,
  v2SignedString,
  verifySignature,
} from "./signing.ts";

const vectors = JSON.parse(
  await Deno.readTextFile(
    new URL("../tests/fixtures/vectors/bridge-signatures.json", import.meta.url),
  ),
);

Deno.test("deriveBridgeSecret() reproduces the published derived secrets", async () => {
  for (const v of vectors.derived_secrets) {
    assertEquals(
      await deriveBridgeSecret(v.hmac_secret, v.workspace_id, v.secret_version),
      v.bridge_secret,
    );
  }
});

Deno.test("signParts() reproduces the published v1 and v2 signatures", async () => {
  for (const r of vectors.requests) {
    const parts = { ...r, body: r.body };
    assertEquals(await v2SignedString(parts), r.v2_signed_string);
    assertEquals(new TextDecoder().decode(v1SignedBytes(parts)), r.v1_signed_string);
    assertEquals(await signParts(r.bridge_secret, parts, 2), r.v2_signature);
    assertEquals(await signParts(r.bridge_secret, parts, 1), r.v1_signature);
    assertEquals(await verifySignature(r.bridge_secret, parts, 2, r.v2_signature), true);
    assertEquals(await verifySignature(r.bridge_secret, parts, 1, r.v1_signature), true);
  }
});

Deno.test("verifySignature() refuses a signature for another path, method or query", async () => {
  const r = vectors.requests[1];
  const parts = { ...r };
  for (
    const changed of [
      { ...parts, path: "/bridge-approval-wait/other" },
      { ...parts, method: "POST" },
      { ...parts, query: "timeout=1" },
      { ...parts, nonce: "another-nonce" },
    ]
  ) {
    assertEquals(await verifySignature(r.bridge_secret, changed, 2, r.v2_signature), false);
  }
  assertEquals(await verifySignature(r.bridge_secret, parts, 2, "zz"), false);
  assertEquals(await verifySignature("wrong-secret", parts, 2, r.v2_signature), false);
});

// RFC 4231 test cases 1-4, 6, 7 (case 5 is a truncated output).
const rfc4231: Array<[string, string, string]> = [
  [
    "0b".repeat(20),
    "4869205468657265",
    "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
  ],
  [
    "4a656665",
    "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
  ],
  [
    "aa".repeat(20),
    "dd".repeat(50),
    "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
  ],
  [
    "0102030405060708090a0b0c0d0e0f10111213141516171819",
    "cd".repeat(50),
    "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
  ],
  [
    "aa".repeat(131),
    "54657374205573696e67204c6172676572205468616e20426c6f636b2d53697a65204b6579202d2048617368204b6579204669727374",
    "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
  ],
  [
    "aa".repeat(131),
    "5468697320697320612074657374207573696e672061206c6172676572207468616e20626c6f636b2d73697a65206b657920616e642061206c6172676572207468616e20626c6f636b2d73697a6520646174612e20546865206b6579206e6565647320746f20626520686173686564206265666f7265206265696e6720757365642062792074686520484d414320616c676f726974686d2e",
    "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
  ],
];

function hexBytes(hex: string): Uint8Array {
  return new Uint8Array(hex.match(/../g)!.map((h) => parseInt(h, 16)));
}

Deno.test("hmacSha256Hex() matches the RFC 4231 HMAC-SHA256 test vectors", async () => {
  for (const [key, data, expected] of rfc4231) {
    assertEquals(await hmacSha256Hex(hexBytes(key), hexBytes(data)), expected);
  }
});

Deno.test("a process that never verifies signs with WebCrypto, byte for byte as node:crypto does", async () => {
  // A fresh process: nothing has loaded node:crypto (a hook process). It signs every
  // published request and says whether node:crypto got loaded on the way.
  const script = `
    import { signingBackend, signParts, v2SignedString } from ${
    JSON.stringify(new URL("./signing.ts", import.meta.url).href)
  };
    const vectors = ${JSON.stringify(vectors.requests)};
    const out = [];
    for (const r of vectors) {
      out.push([await v2SignedString(r), await signParts(r.bridge_secret, r, 2),
                await signParts(r.bridge_secret, r, 1)]);
    }
    console.log(JSON.stringify({ out, backend: signingBackend() }));
  `;
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", script],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assertEquals(result.success, true);
  const { out, backend } = JSON.parse(new TextDecoder().decode(result.stdout));
  assertEquals(backend, "webcrypto");
  for (const [i, r] of vectors.requests.entries()) {
    assertEquals(out[i], [r.v2_signed_string, r.v2_signature, r.v1_signature]);
  }
  // and a verifier switches to node:crypto, with the same bytes
  const r = vectors.requests[0];
  assertEquals(await verifySignature(r.bridge_secret, r, 2, r.v2_signature), true);
  assertEquals(signingBackend(), "node");
  assertEquals(await signParts(r.bridge_secret, r, 2), r.v2_signature);
});
