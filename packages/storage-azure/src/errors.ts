import { storageCodeForStatus as byStatus } from "@skyferry/storage";
import { StorageError, type StorageErrorCode } from "@skyferry/storage";

const BY_CODE: Record<string, StorageErrorCode> = {
  AuthenticationFailed: "INVALID_CREDENTIALS",
  InvalidAuthenticationInfo: "INVALID_CREDENTIALS",
  NoAuthenticationInformation: "INVALID_CREDENTIALS",
  CredentialsRefreshFailed: "INVALID_CREDENTIALS",
  AuthorizationFailure: "ACCESS_DENIED",
  AuthorizationPermissionMismatch: "ACCESS_DENIED",
  AuthorizationSourceIPMismatch: "ACCESS_DENIED",
  AuthorizationProtocolMismatch: "ACCESS_DENIED",
  AuthorizationResourceTypeMismatch: "ACCESS_DENIED",
  AuthorizationServiceMismatch: "ACCESS_DENIED",
  InsufficientAccountPermissions: "ACCESS_DENIED",
  AccountIsDisabled: "ACCESS_DENIED",
  ContainerNotFound: "NOT_FOUND",
  BlobNotFound: "NOT_FOUND",
  ResourceNotFound: "NOT_FOUND",
  Md5Mismatch: "INTEGRITY",
  InvalidMd5: "INTEGRITY",
  Crc64Mismatch: "INTEGRITY",
  InvalidBlockList: "INTEGRITY",
  BlobAlreadyExists: "ALREADY_EXISTS",
  ConditionNotMet: "ALREADY_EXISTS",
  InvalidRange: "INVALID_ARGUMENT",
  InvalidBlockId: "INVALID_ARGUMENT",
  InvalidHeaderValue: "INVALID_ARGUMENT",
  InvalidMetadata: "INVALID_ARGUMENT",
  InvalidQueryParameterValue: "INVALID_ARGUMENT",
  InvalidResourceName: "INVALID_ARGUMENT",
  OutOfRangeInput: "INVALID_ARGUMENT",
  RequestBodyTooLarge: "INVALID_ARGUMENT",
  ServerBusy: "TRANSIENT",
  InternalError: "TRANSIENT",
  OperationTimedOut: "TRANSIENT",
  REQUEST_SEND_ERROR: "TRANSIENT",
  ECONNRESET: "TRANSIENT",
  ECONNREFUSED: "TRANSIENT",
  ETIMEDOUT: "TRANSIENT",
  EPIPE: "TRANSIENT",
  EAI_AGAIN: "TRANSIENT",
  AbortError: "ABORTED",
};


interface RestErrorShape {
  name?: string;
  code?: string;
  statusCode?: number;
  message?: string;
  details?: { errorCode?: string };
}

/** Wraps a RestError (or network/abort error) as a StorageError; Azure's error code stays as `providerReason`. */
export function toStorageError(err: unknown, what: string): StorageError {
  if (err instanceof StorageError) return err;
  const e = (err ?? {}) as RestErrorShape;
  // The outbound policy refused the address before any connection: its message is the reason.
  if (e.code === "OUTBOUND_REFUSED") return new StorageError("OUTBOUND_REFUSED", e.message ?? "The destination is not allowed.", { providerReason: "OUTBOUND_REFUSED", cause: err });
  const status = e.statusCode;
  const names = [e.details?.errorCode, e.code, e.name].filter((n): n is string => typeof n === "string" && n !== "Error" && n !== "RestError");
  let code: StorageErrorCode | undefined;
  // Azurite answers a block MD5 mismatch with 400 InvalidOperation "Provided contentMD5 doesn't match."
  // where Azure says Md5Mismatch.
  if (names[0] === "InvalidOperation" && /md5/i.test(e.message ?? "")) code = "INTEGRITY";
  for (const n of names) code ??= BY_CODE[n];
  code ??= byStatus(status) ?? "UNKNOWN";
  const reason = names[0] ?? (status ? `HTTP ${status}` : undefined);
  const message = (e.message ?? "").split("\n")[0];
  return new StorageError(code, `Azure ${what} failed: ${reason ?? "error"}${status ? ` (HTTP ${status})` : ""}${message ? `: ${message}` : ""}`, {
    providerReason: reason,
    cause: err,
  });
}

/** Runs one SDK call, wrapping whatever it throws as a StorageError. */
export async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toStorageError(err, what);
  }
}
