/**
 * Coded errors shared by every skyferry service and package.
 *
 * A `SkyferryError` carries a stable string `code` (e.g. `AUTHZ_KEY_INVALID`), the HTTP status it
 * maps to, and Galaxy's numeric `err_code` so the gateway can render Galaxy's
 * `{"err_msg", "err_code"}` body. Errors cross NATS as an `ErrorBody` and are rebuilt on the far
 * side with `fromErrorBody`, so a 404 raised in the history service is a 404 at the gateway.
 */

/** Galaxy's numeric error codes (lib/galaxy/exceptions/error_codes.json). */
export const GalaxyCode = {
  generic: 0,
  missing: 400007,
  invalid: 400008,
  malformedId: 400009,
  malformedContents: 400013,
  authRequired: 401001,
  forbidden: 403002,
  notFound: 404001,
  conflict: 409001,
  tooLarge: 413001,
  rateLimited: 429001,
  internal: 500001,
  unavailable: 503001,
} as const;

export interface ErrorBody {
  code: string;
  message: string;
  status: number;
  err_code: number;
  field?: string;
  retryable?: boolean;
}

export interface SkyferryErrorOptions {
  status?: number;
  errCode?: number;
  field?: string;
  retryable?: boolean;
  cause?: unknown;
}

export class SkyferryError extends Error {
  override name = "SkyferryError";
  readonly code: string;
  readonly status: number;
  readonly errCode: number;
  readonly field: string | undefined;
  readonly retryable: boolean;

  constructor(code: string, message: string, options: SkyferryErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options.status ?? 500;
    this.errCode = options.errCode ?? (this.status >= 500 ? GalaxyCode.internal : GalaxyCode.generic);
    this.field = options.field;
    this.retryable = options.retryable ?? false;
  }

  toBody(): ErrorBody {
    const body: ErrorBody = { code: this.code, message: this.message, status: this.status, err_code: this.errCode };
    if (this.field !== undefined) body.field = this.field;
    if (this.retryable) body.retryable = true;
    return body;
  }
}

export function isSkyferryError(err: unknown): err is SkyferryError {
  return err instanceof SkyferryError;
}

/** True when retrying the same operation later may succeed (throttling, 5xx, resets, timeouts). */
export function isRetryable(err: unknown): boolean {
  return isSkyferryError(err) && err.retryable;
}

/**
 * `err` and its causes (`err.cause`, its cause, ...), at most `maxDepth` of them: for checks that
 * look for a sign anywhere in a wrapped error (the database unreachable, NATS down, a network code).
 */
export function* causeChain(err: unknown, maxDepth = 6): Generator<object> {
  let e: unknown = err;
  for (let depth = 0; e && typeof e === "object" && depth < maxDepth; depth++) {
    yield e;
    e = (e as { cause?: unknown }).cause;
  }
}

export function fromErrorBody(body: ErrorBody): SkyferryError {
  return new SkyferryError(body.code, body.message, {
    status: body.status,
    errCode: body.err_code,
    field: body.field,
    retryable: body.retryable,
  });
}

// Constructors for the common client errors; services add their own codes in their errors.ts.

export const missingField = (field: string, message = `Missing required field: ${field}.`) =>
  new SkyferryError("REQUEST_FIELD_MISSING", message, { status: 400, errCode: GalaxyCode.missing, field });

export const invalidField = (field: string, message: string) =>
  new SkyferryError("REQUEST_FIELD_INVALID", message, { status: 400, errCode: GalaxyCode.invalid, field });

export const malformedId = (field: string, value: string) =>
  new SkyferryError("REQUEST_ID_MALFORMED", `Invalid ${field}: '${truncate(value)}' is not a valid id.`, {
    status: 400,
    errCode: GalaxyCode.malformedId,
    field,
  });

export const notFound = (code: string, message: string) =>
  new SkyferryError(code, message, { status: 404, errCode: GalaxyCode.notFound });

export const unauthorized = (code: string, message: string) =>
  new SkyferryError(code, message, { status: 401, errCode: GalaxyCode.authRequired });

export const forbidden = (code: string, message: string) =>
  new SkyferryError(code, message, { status: 403, errCode: GalaxyCode.forbidden });

export const conflict = (code: string, message: string) =>
  new SkyferryError(code, message, { status: 409, errCode: GalaxyCode.conflict });

export const unavailable = (code: string, message: string, cause?: unknown) =>
  new SkyferryError(code, message, { status: 503, errCode: GalaxyCode.unavailable, retryable: true, cause });

export const internal = (code: string, message: string, cause?: unknown) =>
  new SkyferryError(code, message, { status: 500, errCode: GalaxyCode.internal, cause });

/** Shortens untrusted values before they are echoed in messages. */
export function truncate(value: string, max = 64): string {
  return value.length <= max ? value : `${value.slice(0, max)}…`;
}
