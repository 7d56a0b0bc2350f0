import { storageCodeForStatus as byStatus } from "@skyferry/storage";
import { StorageError, type StorageErrorCode } from "@skyferry/storage";

const BY_NAME: Record<string, StorageErrorCode> = {
  AccessDenied: "ACCESS_DENIED",
  AllAccessDisabled: "ACCESS_DENIED",
  AccountProblem: "ACCESS_DENIED",
  InvalidObjectState: "ACCESS_DENIED",
  InvalidAccessKeyId: "INVALID_CREDENTIALS",
  SignatureDoesNotMatch: "INVALID_CREDENTIALS",
  ExpiredToken: "INVALID_CREDENTIALS",
  InvalidToken: "INVALID_CREDENTIALS",
  TokenRefreshRequired: "INVALID_CREDENTIALS",
  CredentialsProviderError: "INVALID_CREDENTIALS",
  NoSuchBucket: "NOT_FOUND",
  NoSuchKey: "NOT_FOUND",
  NoSuchUpload: "NOT_FOUND",
  NotFound: "NOT_FOUND",
  BadDigest: "INTEGRITY",
  InvalidDigest: "INTEGRITY",
  InvalidPart: "INTEGRITY",
  IncompleteBody: "INTEGRITY",
  XAmzContentSHA256Mismatch: "INTEGRITY",
  PreconditionFailed: "ALREADY_EXISTS",
  InvalidArgument: "INVALID_ARGUMENT",
  InvalidBucketName: "INVALID_ARGUMENT",
  KeyTooLongError: "INVALID_ARGUMENT",
  EntityTooLarge: "INVALID_ARGUMENT",
  EntityTooSmall: "INVALID_ARGUMENT",
  InvalidRange: "INVALID_ARGUMENT",
  InvalidPartOrder: "INVALID_ARGUMENT",
  MalformedXML: "INVALID_ARGUMENT",
  MetadataTooLarge: "INVALID_ARGUMENT",
  InvalidStorageClass: "INVALID_ARGUMENT",
  SlowDown: "TRANSIENT",
  Throttling: "TRANSIENT",
  ThrottlingException: "TRANSIENT",
  RequestLimitExceeded: "TRANSIENT",
  TooManyRequestsException: "TRANSIENT",
  ServiceUnavailable: "TRANSIENT",
  InternalError: "TRANSIENT",
  RequestTimeout: "TRANSIENT",
  RequestTimeoutException: "TRANSIENT",
  TimeoutError: "TRANSIENT",
  // AWS answers 409 when two conditional writes race; retrying then meets the 412.
  ConditionalRequestConflict: "TRANSIENT",
  OperationAborted: "TRANSIENT",
  OUTBOUND_REFUSED: "OUTBOUND_REFUSED",
  ECONNRESET: "TRANSIENT",
  ECONNREFUSED: "TRANSIENT",
  ETIMEDOUT: "TRANSIENT",
  EPIPE: "TRANSIENT",
  EAI_AGAIN: "TRANSIENT",
  ECONNABORTED: "TRANSIENT",
  AbortError: "ABORTED",
  // undici (the direct PUT, see direct-put.ts): network failures and timeouts may pass on a retry;
  // a body shorter or longer than its declared length, or a header value HTTP cannot carry, never.
  UND_ERR_SOCKET: "TRANSIENT",
  UND_ERR_CLOSED: "TRANSIENT",
  UND_ERR_CONNECT_TIMEOUT: "TRANSIENT",
  UND_ERR_HEADERS_TIMEOUT: "TRANSIENT",
  UND_ERR_BODY_TIMEOUT: "TRANSIENT",
  UND_ERR_ABORTED: "ABORTED",
  UND_ERR_REQ_CONTENT_LENGTH_MISMATCH: "INTEGRITY",
  UND_ERR_INVALID_ARG: "INVALID_ARGUMENT",
  ERR_INVALID_CHAR: "INVALID_ARGUMENT",
};


interface SdkErrorShape {
  name?: string;
  code?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

/** Wraps an SDK (or network) error as a StorageError; the S3 error code stays as `providerReason`. */
export function toStorageError(err: unknown, what: string): StorageError {
  if (err instanceof StorageError) return err;
  const e = (err ?? {}) as SdkErrorShape;
  // The outbound policy refused the address before any connection: its message is the reason.
  if (e.code === "OUTBOUND_REFUSED") return new StorageError("OUTBOUND_REFUSED", e.message ?? "The destination is not allowed.", { providerReason: "OUTBOUND_REFUSED", cause: err });
  const status = e.$metadata?.httpStatusCode;
  // `Unknown`: the SDK's name for an answer without a body to read a code from (every HEAD); its status is the reason then.
  const names = [e.Code, e.name, e.code].filter((n): n is string => typeof n === "string" && n !== "Error" && n !== "Unknown" && n !== "UnknownError");
  let code: StorageErrorCode | undefined;
  for (const n of names) code ??= BY_NAME[n];
  code ??= byStatus(status) ?? (e.$retryable ? "TRANSIENT" : "UNKNOWN");
  const reason = names[0] ?? (status ? `HTTP ${status}` : undefined);
  const detail = e.message && e.message !== reason ? `: ${e.message}` : "";
  return new StorageError(code, `S3 ${what} failed: ${reason ?? "error"}${status ? ` (HTTP ${status})` : ""}${detail}`, {
    providerReason: reason,
    cause: err,
  });
}
