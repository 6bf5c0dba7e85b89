// An answer of the API in SPEC's error shape, `{"error": {code, message, details?}}`, as its
// clients hold it: the hook runner's SDK (client/sdk.ts) and the web app (web/src/errors.ts).

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    /** the response's x-request-id, for a bug report */
    readonly requestId?: string | null,
  ) {
    super(message);
    this.name = "ApiError";
  }
}
