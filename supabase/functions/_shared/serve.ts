// What each function's index.ts calls: serve one endpoint with the isolate's deps, and
// answer parked long-polls when the runtime announces shutdown.
import type { Endpoint } from "./endpoint.ts";
import { depsFromEnv } from "./deps.ts";

export function serveEndpoint(endpoint: Endpoint): void {
  addEventListener("beforeunload", () => depsFromEnv().waiter.shutdown());
  const handler = (req: Request, info: Deno.ServeHandlerInfo) =>
    endpoint.handler(req, depsFromEnv(), info);
  // Deno.serve() alone listens on :8000 (what the edge runtime expects); PORT lets one
  // function run as its own process locally (bench/cold_start.ts starts each this way).
  const port = Number(Deno.env.get("PORT") ?? "");
  if (port > 0) Deno.serve({ port, hostname: "127.0.0.1", onListen() {} }, handler);
  else Deno.serve(handler);
}
