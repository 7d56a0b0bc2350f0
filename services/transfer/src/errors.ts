import { GalaxyCode, SkyferryError, invalidField, notFound } from "@skyferry/errors";
import { isStorageError, type StorageError } from "@skyferry/storage";

// The transfer service's coded errors (XFER_…).

export const jobNotFound = (id: string) => notFound("XFER_JOB_NOT_FOUND", `Job with ID '${id}' not found.`);

export const invalidBucket = (bucket: string, reason: string) =>
  invalidField("bucket", `Invalid bucket name '${bucket.slice(0, 80)}': ${reason}`);

export const jobNotCancellable = (id: string, state: string) =>
  new SkyferryError("XFER_JOB_FINISHED", `Job '${id}' is ${state}; only new, queued or running jobs can be cancelled.`, { status: 400, errCode: GalaxyCode.invalid });

export const jobNotRetryable = (id: string, state: string) =>
  new SkyferryError("XFER_JOB_NOT_FAILED", `Job '${id}' is ${state}; only a job in error can be retried.`, { status: 400, errCode: GalaxyCode.invalid });

export const objectExists = (bucket: string, key: string, cause?: unknown) =>
  new SkyferryError("XFER_OBJECT_EXISTS", `The object '${key}' already exists in '${bucket}' and the overwrite policy is 'fail'.`, { status: 409, errCode: GalaxyCode.conflict, cause });

export const integrityFailed = (detail: string) =>
  new SkyferryError("XFER_INTEGRITY", `The stored object does not match the dataset: ${detail}`, { status: 422, errCode: GalaxyCode.invalid });

export const renameExhausted = (key: string) =>
  new SkyferryError("XFER_RENAME_EXHAUSTED", `Could not find a free name for '${key}'.`, { status: 409, errCode: GalaxyCode.conflict, retryable: true });

export const jobCancelled = (id: string) =>
  new SkyferryError("XFER_JOB_CANCELLED", `Job '${id}' was cancelled.`, { status: 499, errCode: GalaxyCode.generic });

/** The job's dataset is not in a history of the job's user (or not under the job's store key): nothing is read. */
export const datasetNotOwned = (datasetId: string) =>
  new SkyferryError("XFER_DATASET_NOT_OWNED", `Dataset '${datasetId}' is not in a history of this job's user.`, { status: 403, errCode: GalaxyCode.forbidden });

/** A permanent failure already recorded on the job: the worker terminates the message. */
export const jobFailedPermanently = (id: string, cause: unknown) =>
  new SkyferryError("XFER_JOB_FAILED", `Job '${id}' failed permanently.`, { status: 500, cause });

export const isJobFailedPermanently = (err: unknown): boolean => err instanceof SkyferryError && err.code === "XFER_JOB_FAILED";

/** A job the reconciler re-drove `n` times without it finishing: it ends `error` rather than go round for ever. */
export const jobStranded = (n: number) =>
  new SkyferryError("XFER_STRANDED", `The job did not finish after ${n} re-drives of its work.`, { status: 500 });

/** The provider's own reason for a storage failure, for the job's `error.provider_reason`. */
export function providerReasonOf(err: unknown): string | undefined {
  if (isStorageError(err)) return (err as StorageError).providerReason;
  return undefined;
}
