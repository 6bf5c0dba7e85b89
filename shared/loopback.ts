// Whether a host name or address is this machine (127.0.0.0/8, ::1, localhost), as a URL's
// hostname (IPv6 in brackets) or a socket's address (IPv4-mapped IPv6 included). Used where
// "local" changes what is allowed (dev-sign-in) or what to suggest (the CLI's hints).
export function isLoopbackHost(host: string | undefined): boolean {
  if (!host) return false;
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^(::ffff:)?127\.\d+\.\d+\.\d+$/.test(h);
}
