import { ioError, unavailable } from "./errors.ts";

interface SdkError {
  name?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

const TRANSIENT = new Set(["SlowDown", "Throttling", "ThrottlingException", "ServiceUnavailable", "InternalError", "RequestTimeout", "TimeoutError", "ECONNRESET", "ECONNREFUSED", "ETIMEDOUT", "EPIPE", "EAI_AGAIN"]);

/** True for NoSuchKey / NotFound / a 404 from HEAD (which has no body to name the error). */
export function isMissingObject(err: unknown): boolean {
  const e = (err ?? {}) as SdkError;
  return e.name === "NoSuchKey" || e.name === "NotFound" || e.name === "NoSuchBucket" || e.$metadata?.httpStatusCode === 404;
}

/** Wraps an SDK or network error: UNAVAILABLE (retryable) for throttling, 5xx and resets, else IO. */
export function s3Failure(err: unknown, what: string): Error {
  const e = (err ?? {}) as SdkError;
  const status = e.$metadata?.httpStatusCode;
  const reason = e.name ?? e.code ?? "error";
  const message = `Dataset store S3 ${what} failed: ${reason}${status ? ` (HTTP ${status})` : ""}.`;
  if (TRANSIENT.has(reason) || TRANSIENT.has(e.code ?? "") || (status !== undefined && status >= 500) || e.$retryable) return unavailable(message, err);
  return ioError(message, err);
}
