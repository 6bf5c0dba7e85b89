// Mounts every endpoint under /functions/v1/<name>[/<id>], as Supabase does: the local
// dev server and the tests serve this.
import { errorResponse, HttpError } from "./http_error.ts";
import type { Deps } from "./deps.ts";
import { CORS_HEADERS, type Endpoint } from "./endpoint.ts";
import { sameName } from "./endpoint_methods.ts";

/** What a path with no function behind it answers (and dev-sign-in where it is off), with
 * the CORS headers, so a browser reads the 404 instead of failing its preflight as if the
 * backend were down. */
export function noFunctionResponse(req: Request): Response {
  const { pathname } = new URL(req.url);
  const response = errorResponse(
    new HttpError("not_found", `Not found: no function at ${pathname}`),
  );
  response.headers.set("x-request-id", req.headers.get("x-request-id") ?? crypto.randomUUID());
  for (const [k, v] of Object.entries(CORS_HEADERS)) response.headers.set(k, v);
  return response;
}

export function createRouter(
  endpoints: Endpoint[],
  deps: Deps,
): (req: Request, info?: { remoteAddr?: unknown }) => Promise<Response> {
  // A name with several methods (GET and POST /mobile-rules) dispatches by method.
  const groups = new Map<string, Endpoint[]>();
  for (const e of endpoints) groups.set(e.name, [...(groups.get(e.name) ?? []), e]);
  const byName = new Map(
    [...groups].map(([name, group]) => [name, group.length === 1 ? group[0] : sameName(...group)]),
  );
  return (req, info) => {
    const { pathname } = new URL(req.url);
    const match = /^\/functions\/v1\/([a-z0-9-]+)(\/.*)?$/.exec(pathname);
    const endpoint = match ? byName.get(match[1]) : undefined;
    if (!endpoint) return Promise.resolve(noFunctionResponse(req));
    return endpoint.handler(req, deps, info);
  };
}
