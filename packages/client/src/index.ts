export { createSkyferry, ok, type Skyferry, type SkyferryOptions } from "./client.ts";
export { CLIENT_ERROR_CODES, type ClientErrorCode, clientError, errorFromBody, errorFromText, isAuthError, SkyferryApiError } from "./errors.ts";
export { followJob, followJobs, type JobEvent } from "./events.ts";
export { failedJobs, getJob, waitForJobs, type WaitOptions } from "./jobs.ts";
export { allDatasets, allJobs, allObjects, collect } from "./paging.ts";
export type { paths, components } from "./generated/openapi.ts";
export * from "./types.ts";
