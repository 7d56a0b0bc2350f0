import { GalaxyCode, SkyferryError } from "@skyferry/errors";

/** Codes of the dataset store's errors (`err.code`). */
export const DatasetStoreErrorCode = [
  "DATASET_STORE_TOO_LARGE",
  "DATASET_STORE_NOT_FOUND",
  "DATASET_STORE_KEY_INVALID",
  "DATASET_STORE_RANGE_INVALID",
  "DATASET_STORE_READ_ONLY",
  "DATASET_STORE_ABORTED",
  "DATASET_STORE_SOURCE",
  "DATASET_STORE_CONFIG_INVALID",
  "DATASET_STORE_UNAVAILABLE",
  "DATASET_STORE_IO",
  "DATASET_STORE_FULL",
] as const;
export type DatasetStoreErrorCode = (typeof DatasetStoreErrorCode)[number];

export class DatasetStoreError extends SkyferryError {
  declare readonly code: DatasetStoreErrorCode;
  constructor(code: DatasetStoreErrorCode, message: string, options: ConstructorParameters<typeof SkyferryError>[2] = {}) {
    super(code, message, options);
    this.name = "DatasetStoreError";
  }
}

export function isDatasetStoreError(err: unknown, code?: DatasetStoreErrorCode): err is DatasetStoreError {
  return err instanceof DatasetStoreError && (code === undefined || err.code === code);
}

/** The upload is larger than `maxBytes` (HTTP 413). */
export const tooLarge = (maxBytes: number) =>
  new DatasetStoreError("DATASET_STORE_TOO_LARGE", `The upload exceeds the size limit of ${maxBytes} bytes.`, { status: 413, errCode: GalaxyCode.tooLarge });

export const notFound = (key: string, cause?: unknown) =>
  new DatasetStoreError("DATASET_STORE_NOT_FOUND", `No stored dataset under key '${key}'.`, { status: 404, errCode: GalaxyCode.notFound, cause });

export const invalidKey = (key: string) =>
  new DatasetStoreError("DATASET_STORE_KEY_INVALID", `Invalid dataset store key '${key.slice(0, 80)}'.`, { status: 400, errCode: GalaxyCode.invalid });

export const invalidRange = (message: string) =>
  new DatasetStoreError("DATASET_STORE_RANGE_INVALID", message, { status: 416, errCode: GalaxyCode.invalid });

export const readOnly = () =>
  new DatasetStoreError("DATASET_STORE_READ_ONLY", "This dataset store was opened read-only.", { status: 500 });

/** The write's signal fired (e.g. the client disconnected); nothing was stored. */
export const aborted = (cause?: unknown) =>
  new DatasetStoreError("DATASET_STORE_ABORTED", "The write was aborted; nothing was stored.", { status: 400, errCode: GalaxyCode.generic, cause });

/** The body stream failed (e.g. the client's upload broke off); nothing was stored. */
export const sourceFailed = (cause: unknown) =>
  new DatasetStoreError("DATASET_STORE_SOURCE", "Reading the upload failed; nothing was stored.", { status: 400, errCode: GalaxyCode.generic, cause });

export const configInvalid = (message: string) => new DatasetStoreError("DATASET_STORE_CONFIG_INVALID", message, { status: 500 });

/** Storage backend trouble that may pass (network, 5xx, throttling). */
export const unavailable = (message: string, cause?: unknown) =>
  new DatasetStoreError("DATASET_STORE_UNAVAILABLE", message, { status: 503, errCode: GalaxyCode.unavailable, retryable: true, cause });

export const ioError = (message: string, cause?: unknown) => new DatasetStoreError("DATASET_STORE_IO", message, { status: 500, cause });

/**
 * The file system holding the store has no space left (ENOSPC, or EDQUOT: a quota); the write's
 * partial file is removed and nothing was stored. Not retryable: space comes back only when
 * someone frees it (issue 25, case 5).
 */
export const storeFull = (cause: unknown) => {
  const errno = (cause as { code?: unknown } | null)?.code === "EDQUOT" ? "EDQUOT, the quota is used up" : "ENOSPC, no space left on the device";
  return new DatasetStoreError("DATASET_STORE_FULL", `The dataset store is full (${errno}); nothing was stored.`, { status: 507, cause });
};
