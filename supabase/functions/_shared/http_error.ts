// The error model (docs/contract/api.md#errors): typed errors thrown anywhere, turned into the
// API's JSON shape in exactly one place (errorResponse).

export type ErrorCode =
  | "invalid_json"
  | "invalid_request"
  | "unauthorized"
  | "signature_expired"
  | "replayed_nonce"
  | "forbidden"
  | "not_found"
  | "method_not_allowed"
  | "conflict"
  | "already_decided"
  | "expired"
  | "no_device"
  | "payload_too_large"
  | "unsupported_media_type"
  | "rate_limited"
  | "unavailable"
  | "internal";

export const STATUS_BY_CODE: Record<ErrorCode, number> = {
  invalid_json: 400,
  invalid_request: 400,
  unauthorized: 401,
  signature_expired: 401,
  replayed_nonce: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  already_decided: 409,
  expired: 409,
  no_device: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  unavailable: 503,
  internal: 500,
};

export function isErrorCode(code: string): code is ErrorCode {
  return code in STATUS_BY_CODE;
}

export class HttpError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details?: unknown;
  readonly headers: Record<string, string>;

  constructor(
    code: ErrorCode,
    message: string,
    options: { details?: unknown; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.name = "HttpError";
    this.code = code;
    this.status = STATUS_BY_CODE[code];
    this.details = options.details;
    this.headers = options.headers ?? {};
  }
}

/** A JSON response with the given status. */
export function jsonResponse(
  body: unknown,
  status = 200,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
  });
}

/** The API's error shape for an HttpError; anything else is a bare `internal`. */
export function errorResponse(error: unknown): Response {
  const e = error instanceof HttpError
    ? error
    : new HttpError("internal", "Internal error: the request could not be completed");
  const body: { error: { code: string; message: string; details?: unknown } } = {
    error: { code: e.code, message: e.message },
  };
  if (e.details !== undefined) body.error.details = e.details;
  return jsonResponse(body, e.status, e.headers);
}
