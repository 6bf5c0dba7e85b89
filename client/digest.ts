// SHA-256 hex for the hook runner, with Web Crypto: shared/signing.ts hashes with
// node:crypto (cheaper per call on the server), but loading Deno's Node layer costs a
// short-lived hook process ~90 ms at start. Same bytes in, same hex out.
export async function sha256Hex(data: string | Uint8Array): Promise<string> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource));
  let hex = "";
  for (const byte of digest) hex += byte.toString(16).padStart(2, "0");
  return hex;
}
