// The client address per-IP rate limits key on: only what the platform vouches for, never
// a hop the client chose. By default the socket's peer (Deno.serve's info.remoteAddr):
// right for the local stack and for any deployment without a proxy in front.
//
// Behind a proxy, name the header it sets (CLIENT_IP_HEADER) and how many trusted proxies
// append to it (CLIENT_IP_TRUSTED_HOPS, default 1). The address is read from the right:
// the last entry was written by the nearest trusted proxy, the one before it by the next,
// and so on; whatever the client sent stands to the left and is never read (12 forged
// x-forwarded-for hops are 12 ignored entries). A single-valued header that a proxy
// overwrites (Cloudflare's cf-connecting-ip) is the same with one hop.
//
// Hosted Supabase: the API gateway is fronted by Cloudflare (answers carry `server:
// cloudflare` and `cf-ray`), and Cloudflare documents `CF-Connecting-IP` as "the client IP
// address connecting to Cloudflare", sent on traffic from its edge to the origin
// (developers.cloudflare.com/fundamentals/reference/http-headers/). Supabase itself does
// not document which forwarding header its edge-functions gateway guarantees (asked in
// supabase discussion #52040, no maintainer answer), so it is a setting, not a constant:
// CLIENT_IP_HEADER=cf-connecting-ip (README, "Client address").
interface ClientIpOptions {
  /** lower-case header name; unset: the socket's peer */
  header?: string;
  /** how many entries from the right of that header to step back (≥ 1) */
  trustedHops?: number;
}

const MAX_IP_CHARS = 64;

export function clientIp(
  req: Request,
  remoteAddr: unknown,
  options: ClientIpOptions = {},
): string {
  if (options.header) {
    const value = req.headers.get(options.header);
    const hops = (value ?? "").split(",").map((h) => h.trim()).filter(Boolean);
    if (hops.length > 0) {
      const index = Math.max(0, hops.length - (options.trustedHops ?? 1));
      return hops[index].slice(0, MAX_IP_CHARS);
    }
    // The header is missing: the request did not come through the proxy. The socket's
    // peer then (one shared bucket for every such request, never a client's choice).
  }
  const addr = remoteAddr as { hostname?: string } | undefined;
  return addr?.hostname ?? "unknown";
}
