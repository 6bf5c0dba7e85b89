// One function name answering several methods (`GET` and `POST /mobile-rules`): each
// method is its own endpoint (own schemas, own pipeline); this picks one by the request's
// method. Any other method is 405 naming every allowed one.
import type { Deps } from "./deps.ts";
import type { Endpoint } from "./endpoint.ts";
import { CORS_HEADERS } from "./endpoint.ts";
import { errorResponse, HttpError } from "./http_error.ts";

function byMethod(endpoints: Endpoint[]): Endpoint["handler"] {
  const allow = endpoints.map((e) => e.method).join(", ");
  return (req: Request, deps: Deps, info?: { remoteAddr?: unknown }) => {
    const endpoint = endpoints.find((e) => e.method === req.method) ??
      (req.method === "OPTIONS" ? endpoints[0] : undefined);
    if (endpoint) return endpoint.handler(req, deps, info);
    const response = errorResponse(
      new HttpError("method_not_allowed", `Method ${req.method} is not allowed: use ${allow}`, {
        headers: { allow },
      }),
    );
    response.headers.set(
      "x-request-id",
      (req.headers.get("x-request-id") ?? "").slice(0, 128) || crypto.randomUUID(),
    );
    if (endpoints.some((e) => e.auth === "mobile")) {
      for (const [k, v] of Object.entries(CORS_HEADERS)) response.headers.set(k, v);
    }
    return Promise.resolve(response);
  };
}

/** The endpoints of one function name as one endpoint to serve (its index.ts). */
export function sameName(...endpoints: Endpoint[]): Endpoint {
  return { ...endpoints[0], handler: byMethod(endpoints) };
}
