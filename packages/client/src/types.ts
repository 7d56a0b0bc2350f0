// Named types for the shapes the SDK's helpers pass around, all taken from the generated `paths`
// (the document the gateway serves) or, for Server-Sent Events payloads the document does not
// describe, from the contracts' schemas.
import type { EventData, TransferJobProgress } from "@skyferry/contracts";
import type { Readable, SuccessResponseJSON } from "openapi-typescript-helpers";
import type { paths } from "./generated/openapi.ts";

/** The success body of `method path`, exactly as openapi-fetch types `data`. */
export type Ok<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends Record<string | number, unknown> ? Readable<SuccessResponseJSON<paths[P][M]>> : never;
/** The JSON request body of `method path`. */
export type Body<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends { requestBody?: { content: { "application/json": infer B } } } ? B : never;

export type Job = Ok<"/api/jobs", "get">[number];
export type JobState = Job["state"];
export type History = Ok<"/api/histories/{id}", "get">;
export type Dataset = Ok<"/api/histories/{id}/contents/{item_id}", "get">;
export type CloudAuthz = Ok<"/api/cloud/authz/{id}", "get">;
export type CloudAuthzTest = Ok<"/api/cloud/authz/{id}/test", "post">;
export type SendRequest = Body<"/api/cloud/storage/send", "post">;
export type SendResult = Ok<"/api/cloud/storage/send", "post">;
export type GetRequest = Body<"/api/cloud/storage/get", "post">;
export type GetItem = Ok<"/api/cloud/storage/get", "post">[number];
export type ObjectsPage = Ok<"/api/cloud/storage/objects", "get">;
export type CloudObject = ObjectsPage["objects"][number];
export type User = Ok<"/api/users/current", "get">;
/** A `progress` event of `GET /api/jobs/{id}/events` (skyferry.transfer.job.progress.v1). */
export type JobProgress = EventData<typeof TransferJobProgress>;

export const FINAL_STATES: readonly JobState[] = ["ok", "error", "deleted"];
export const isFinal = (state: JobState): boolean => FINAL_STATES.includes(state);
