import { assertEquals } from "../../../tests/_helpers/assert.ts";
import { clientIp } from "./client_ip.ts";

const socket = { transport: "tcp", hostname: "10.0.0.9", port: 5555 };
const req = (headers: Record<string, string>) => new Request("http://x/", { headers });

Deno.test("clientIp() takes the socket's peer by default, whatever x-forwarded-for says", () => {
  assertEquals(clientIp(req({ "x-forwarded-for": "1.2.3.4" }), socket), "10.0.0.9");
  assertEquals(clientIp(req({}), undefined), "unknown");
});

Deno.test("clientIp() reads a proxy's header from the right, by the number of trusted hops", () => {
  const forged = req({ "x-forwarded-for": "6.6.6.6, 7.7.7.7, 203.0.113.5, 10.1.1.1" });
  assertEquals(clientIp(forged, socket, { header: "x-forwarded-for" }), "10.1.1.1");
  assertEquals(
    clientIp(forged, socket, { header: "x-forwarded-for", trustedHops: 2 }),
    "203.0.113.5",
  );
  // fewer entries than trusted hops: the leftmost one, which a trusted proxy wrote
  assertEquals(
    clientIp(req({ "x-forwarded-for": "203.0.113.5" }), socket, {
      header: "x-forwarded-for",
      trustedHops: 3,
    }),
    "203.0.113.5",
  );
});

Deno.test("clientIp() takes a single-valued header a proxy overwrites, and the socket without it", () => {
  const options = { header: "cf-connecting-ip" };
  assertEquals(
    clientIp(
      req({ "cf-connecting-ip": "198.51.100.7", "x-forwarded-for": "1.1.1.1" }),
      socket,
      options,
    ),
    "198.51.100.7",
  );
  assertEquals(clientIp(req({ "x-forwarded-for": "1.1.1.1" }), socket, options), "10.0.0.9");
});
