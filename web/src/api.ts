// The app's one way to the backend: a function call (`${functionsUrl}/<name>`) with the user's
// access token, on the local stack and on a hosted project alike. Errors come back as ApiError
// (the spec's shape) or OfflineError (nothing answered).
import { errorFromResponse, OfflineError } from "./errors.ts";

export type Query = Record<string, string | number | undefined>;

export interface Api {
  readonly functionsUrl: string;
  get<T>(name: string, query?: Query, signal?: AbortSignal): Promise<T>;
  post<T>(name: string, body: unknown, signal?: AbortSignal): Promise<T>;
}

/** token() gives a valid access token (signing in or refreshing as needed), or null for the
 * endpoints that need none (push-config). */
export function createApi(
  functionsUrl: string,
  token: () => Promise<string | null>,
): Api {
  async function call<T>(
    method: "GET" | "POST",
    name: string,
    options: { query?: Query; body?: unknown; signal?: AbortSignal },
  ): Promise<T> {
    const url = new URL(`${functionsUrl.replace(/\/+$/, "")}/${name}`);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const headers: Record<string, string> = {};
    const bearer = await token();
    if (bearer) headers.authorization = `Bearer ${bearer}`;
    if (method === "POST") headers["content-type"] = "application/json";
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers,
        body: method === "POST" ? JSON.stringify(options.body ?? {}) : undefined,
        signal: options.signal,
      });
    } catch (error) {
      if (options.signal?.aborted) throw error;
      throw new OfflineError(`Cannot reach ${url.host}`);
    }
    if (!res.ok) throw await errorFromResponse(res);
    return await res.json() as T;
  }
  return {
    functionsUrl,
    get: (name, query, signal) => call("GET", name, { query, signal }),
    post: (name, body, signal) => call("POST", name, { body, signal }),
  };
}
