// A pairing code on its way from `agentops pair` to the web app: the link its QR code holds
// when AGENTOPS_APP_URL names the app (`<app>#/pair?code=<code>&api=<functions url>`, which
// opens the app at its pairing screen), and what the app accepts: that link, the backend's
// bare `agentops://pair?token=<code>`, or the code typed (8 characters of Crockford base32,
// any case, with spaces or dashes). Used by client/cli.ts and web/src/pair_page.tsx.

/** Crockford base32 as the backend issues it: no I, L, O, U. */
const CROCKFORD = /^[0-9ABCDEFGHJKMNPQRSTVWXYZ]{8}$/;

interface PairLink {
  code: string;
  /** the backend the code belongs to, when the link names one */
  api: string | null;
}

/** The app link for a code: the app's URL with the pairing route in its fragment (never
 * sent to the app's host) and the backend the code belongs to. */
export function appPairLink(appUrl: string, code: string, functionsUrl: string): string {
  const base = appUrl.replace(/#.*$/, "");
  return `${base}#/pair?code=${encodeURIComponent(code)}&api=${encodeURIComponent(functionsUrl)}`;
}

/** A typed code, normalised as Crockford base32 reads it (O→0, I/L→1), or null. */
export function normaliseCode(text: string): string | null {
  const code = text.toUpperCase().replace(/[\s-]/g, "").replace(/O/g, "0").replace(/[IL]/g, "1");
  return CROCKFORD.test(code) ? code : null;
}

/** Reads a scanned or pasted text: an app link, an agentops:// link, or a bare code. */
export function parsePairText(text: string): PairLink | null {
  const trimmed = text.trim();
  const hash = trimmed.indexOf("#/pair?");
  const query = hash >= 0
    ? trimmed.slice(hash + "#/pair?".length)
    : trimmed.startsWith("agentops://pair?")
    ? trimmed.slice("agentops://pair?".length)
    : null;
  if (query === null) {
    const code = normaliseCode(trimmed);
    return code ? { code, api: null } : null;
  }
  const params = new URLSearchParams(query);
  const code = normaliseCode(params.get("code") ?? params.get("token") ?? "");
  if (!code) return null;
  const api = params.get("api");
  return { code, api: api && /^https?:\/\//.test(api) ? api : null };
}
