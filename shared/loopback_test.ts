import { assertEquals } from "../tests/_helpers/assert.ts";
import { isLoopbackHost } from "./loopback.ts";

Deno.test("isLoopbackHost() knows this machine's names and addresses, and nothing else", () => {
  for (const host of ["localhost", "127.0.0.1", "127.1.2.3", "::1", "[::1]", "::ffff:127.0.0.1"]) {
    assertEquals(isLoopbackHost(host), true, host);
  }
  for (const host of [undefined, "", "10.0.0.1", "128.0.0.1", "localhost.evil.com", "[::2]"]) {
    assertEquals(isLoopbackHost(host), false, String(host));
  }
  assertEquals(isLoopbackHost(new URL("http://[::1]:54321/x").hostname), true);
});
