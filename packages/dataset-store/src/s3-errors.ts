import { toStorageError } from "@skyferry/storage-s3";
import { ioError, unavailable } from "./errors.ts";

// The S3 backend's errors are told by the S3 adapter's one classification (@skyferry/storage-s3's
// `toStorageError`), so that the dataset store, the transfer workers and authz's access test agree
// on what is missing, what passes on a retry and what never will (issue 23).

/** True for NoSuchKey / NotFound / NoSuchBucket / a 404 from HEAD (which has no body to name the error). */
export function isMissingObject(err: unknown): boolean {
  return toStorageError(err, "read").storageCode === "NOT_FOUND";
}

/** Wraps an SDK or network error: UNAVAILABLE (retryable) for throttling, 5xx, timeouts and resets, else IO. */
export function s3Failure(err: unknown, what: string): Error {
  const e = toStorageError(err, what);
  const status = (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
  const message = `Dataset store S3 ${what} failed: ${e.providerReason ?? "error"}${status ? ` (HTTP ${status})` : ""}.`;
  return e.storageCode === "TRANSIENT" ? unavailable(message, err) : ioError(message, err);
}
