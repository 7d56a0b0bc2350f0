import { GalaxyCode, SkyferryError } from "@skyferry/errors";

export const StorageErrorCode = [
  "ALREADY_EXISTS",
  "NOT_FOUND",
  "ACCESS_DENIED",
  "INVALID_CREDENTIALS",
  "INTEGRITY",
  "INVALID_ARGUMENT",
  "TRANSIENT",
  "ABORTED",
  /** The body stream given to `put` failed (a read error of the source, not of the provider). */
  "SOURCE",
  /** The destination's address is refused by the outbound policy (@skyferry/outbound-policy); no connection was made. */
  "OUTBOUND_REFUSED",
  "UNKNOWN",
] as const;
export type StorageErrorCode = (typeof StorageErrorCode)[number];

const STATUS: Record<StorageErrorCode, number> = {
  ALREADY_EXISTS: 409,
  NOT_FOUND: 404,
  ACCESS_DENIED: 403,
  INVALID_CREDENTIALS: 401,
  INTEGRITY: 422,
  INVALID_ARGUMENT: 400,
  TRANSIENT: 503,
  ABORTED: 499,
  SOURCE: 500,
  OUTBOUND_REFUSED: 400,
  UNKNOWN: 502,
};

/** An adapter's error: a provider-neutral code, the provider's own reason, and the SDK error as cause. */
export class StorageError extends SkyferryError {
  override name = "StorageError";
  readonly storageCode: StorageErrorCode;
  /** The provider's error code/message, e.g. `AccessDenied` / `AuthorizationPermissionMismatch`. */
  readonly providerReason: string | undefined;
  constructor(code: StorageErrorCode, message: string, options: { providerReason?: string; cause?: unknown } = {}) {
    // A refused destination is the user's input, answered like any invalid field (Galaxy's 400008).
    super(`STORAGE_${code}`, message, { status: STATUS[code], retryable: code === "TRANSIENT", cause: options.cause, ...(code === "OUTBOUND_REFUSED" ? { errCode: GalaxyCode.invalid } : {}) });
    this.storageCode = code;
    this.providerReason = options.providerReason;
  }
}

export function isStorageError(err: unknown, code?: StorageErrorCode): err is StorageError {
  return err instanceof StorageError && (code === undefined || err.storageCode === code);
}

/** The provider-neutral code for an HTTP status, shared by every adapter's error mapping. */
export function storageCodeForStatus(status: number | undefined): StorageErrorCode | undefined {
  if (status === undefined) return undefined;
  if (status === 401) return "INVALID_CREDENTIALS";
  if (status === 403) return "ACCESS_DENIED";
  if (status === 404) return "NOT_FOUND";
  if (status === 412) return "ALREADY_EXISTS";
  if (status === 429 || status >= 500) return "TRANSIENT";
  if (status === 400 || status === 416) return "INVALID_ARGUMENT";
  return undefined;
}
