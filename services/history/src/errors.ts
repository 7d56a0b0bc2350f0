import { GalaxyCode, SkyferryError, notFound } from "@skyferry/errors";

// The history service's coded errors (HIST_…); shared helpers come from @skyferry/errors.

export const historyNotFound = (id: string) => notFound("HIST_HISTORY_NOT_FOUND", `History '${id}' not found.`);
export const datasetNotFound = (id: string) => notFound("HIST_DATASET_NOT_FOUND", `Dataset '${id}' not found.`);

/** The dataset exists but its bytes cannot be served (not ok yet, failed, or purged). */
export const datasetUnavailable = (id: string, why: string) =>
  new SkyferryError("HIST_DATASET_UNAVAILABLE", `Dataset '${id}' cannot be displayed: ${why}.`, { status: 409, errCode: GalaxyCode.conflict });

export const uploadTooLarge = (maxBytes: number) =>
  new SkyferryError("HIST_UPLOAD_TOO_LARGE", `The upload exceeds the size limit of ${maxBytes} bytes.`, { status: 413, errCode: GalaxyCode.tooLarge });

export const rangeNotSatisfiable = (size: number) =>
  new SkyferryError("HIST_RANGE_NOT_SATISFIABLE", `The requested range is not satisfiable (size ${size}).`, { status: 416, errCode: GalaxyCode.invalid });

export const internalAuthFailed = () =>
  new SkyferryError("HIST_INTERNAL_AUTH", "This endpoint is only for the skyferry gateway.", { status: 401, errCode: GalaxyCode.authRequired });

/** hid allocation kept colliding (many concurrent uploads into one history). */
export const hidContention = () =>
  new SkyferryError("HIST_HID_CONTENTION", "Too many concurrent uploads into this history; try again.", { status: 503, errCode: GalaxyCode.unavailable, retryable: true });

export const historyPurged = (id: string) =>
  new SkyferryError("HIST_HISTORY_PURGED", `History '${id}' is purged; nothing can be added to it.`, { status: 400, errCode: GalaxyCode.invalid, field: "history_id" });
