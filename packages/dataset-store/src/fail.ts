import { aborted, ioError, isDatasetStoreError, sourceFailed, storeFull } from "./errors.ts";

/**
 * Classifies a failed write: our own coded errors pass through; a fired signal is ABORTED; an
 * error from the file system (it has a `syscall`) is IO; anything else came from the body.
 */
export function writeFailure(err: unknown, signal: AbortSignal | undefined, storageFailure: (err: unknown) => Error = fsFailure): Error {
  if (isDatasetStoreError(err)) return err;
  if (signal?.aborted) return aborted(err);
  const e = err as { syscall?: unknown; $metadata?: unknown } | null;
  if (e && (typeof e.syscall === "string" || e.$metadata !== undefined)) return storageFailure(err);
  return sourceFailed(err);
}

const fsFailure = (err: unknown) => {
  const code = (err as { code?: unknown }).code;
  return code === "ENOSPC" || code === "EDQUOT" ? storeFull(err) : ioError(`Writing to the dataset store failed: ${(err as Error).message}`, err);
};

/** Rejects at once when the signal has already fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw aborted(signal.reason);
}
