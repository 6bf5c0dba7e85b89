// What each function's index.ts calls: serve one endpoint with the isolate's deps, and
// answer parked long-polls when the runtime announces shutdown.
import type { Endpoint } from "./endpoint.ts";
import { depsFromEnv } from "./deps.ts";

export function serveEndpoint(endpoint: Endpoint): void {
  addEventListener("beforeunload", () => depsFromEnv().waiter.shutdown());
  Deno.serve((req, info) => endpoint.handler(req, depsFromEnv(), info));
}
