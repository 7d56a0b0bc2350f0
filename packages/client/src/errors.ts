/**
 * Every failure the SDK reports is a SkyferryApiError: the API's own refusal (Galaxy's
 * `{err_msg, err_code}` body, plus skyferry's `code` and `field`), or a transport failure
 * (status 0, code `CLIENT_UNREACHABLE`), or a helper's own limit (`CLIENT_TIMEOUT`, ...).
 */
export const CLIENT_ERROR_CODES = ["CLIENT_UNREACHABLE", "CLIENT_TIMEOUT", "CLIENT_BAD_RESPONSE", "CLIENT_ABORTED", "CLIENT_FILE"] as const;
export type ClientErrorCode = (typeof CLIENT_ERROR_CODES)[number];

export interface ApiErrorBody {
  err_msg?: unknown;
  err_code?: unknown;
  code?: unknown;
  field?: unknown;
}

export class SkyferryApiError extends Error {
  /** HTTP status; 0 when no answer came. */
  readonly status: number;
  /** Galaxy's numeric code (400008, 401001, 404001, ...), or the status times 1000 when the body had none. */
  readonly errCode: number;
  /** skyferry's code (e.g. REQUEST_FIELD_INVALID) or the SDK's (CLIENT_…), when known. */
  readonly code: string | undefined;
  readonly field: string | undefined;
  constructor(message: string, opts: { status: number; errCode?: number; code?: string; field?: string; cause?: unknown }) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "SkyferryApiError";
    this.status = opts.status;
    this.errCode = opts.errCode ?? opts.status * 1000;
    this.code = opts.code;
    this.field = opts.field;
  }
}

/** An error from a response's status and body text (JSON Galaxy body or anything else). */
export function errorFromText(status: number, text: string, statusText = ""): SkyferryApiError {
  try {
    return errorFromBody(status, JSON.parse(text) as ApiErrorBody, statusText);
  } catch {
    const words = text && text.length < 300 && !text.trimStart().startsWith("<") ? text : statusText || "request failed";
    return new SkyferryApiError(`HTTP ${status}: ${words}`, { status });
  }
}

export function errorFromBody(status: number, body: ApiErrorBody | undefined, statusText = ""): SkyferryApiError {
  if (body && typeof body.err_msg === "string") {
    return new SkyferryApiError(body.err_msg, {
      status,
      ...(typeof body.err_code === "number" ? { errCode: body.err_code } : {}),
      ...(typeof body.code === "string" ? { code: body.code } : {}),
      ...(typeof body.field === "string" ? { field: body.field } : {}),
    });
  }
  return new SkyferryApiError(`HTTP ${status}: ${statusText || "request failed"}`, { status });
}

export function clientError(code: ClientErrorCode, message: string, cause?: unknown): SkyferryApiError {
  return new SkyferryApiError(message, { status: 0, errCode: 0, code, cause });
}

export const isAuthError = (err: unknown): boolean => err instanceof SkyferryApiError && err.status === 401;
