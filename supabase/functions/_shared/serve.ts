// What each function's index.ts calls: serve one endpoint with the isolate's deps, and
// answer parked long-polls when the runtime announces shutdown.
import type { Endpoint } from "./endpoint.ts";
import { depsFromEnv } from "./deps.ts";

declare const EdgeRuntime: unknown;

export function serveEndpoint(endpoint: Endpoint): void {
  addEventListener("beforeunload", () => depsFromEnv().shutdown());
  const handler = (req: Request, info: Deno.ServeHandlerInfo) =>
    endpoint.handler(req, depsFromEnv(), info);
  // In the edge runtime, plain Deno.serve(handler). Outside it PORT lets one function run
  // as its own process (bench/cold_start.ts starts each this way); else Deno's :8000.
  const port = typeof EdgeRuntime === "undefined" ? Number(Deno.env.get("PORT") ?? "") : 0;
  if (port > 0) Deno.serve({ port, hostname: "127.0.0.1", onListen() {} }, handler);
  else Deno.serve(handler);
}
