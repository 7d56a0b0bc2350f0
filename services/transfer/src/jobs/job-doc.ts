import type { TransferJobRecord } from "@skyferry/contracts";
import type { JobState, TransferJob } from "./types.ts";

/** States in which a job still has work to do (not ok, error or deleted). */
export const ACTIVE_STATES: readonly JobState[] = ["new", "queued", "running"];
export const isActive = (state: JobState): boolean => ACTIVE_STATES.includes(state);

/** A transfer job as stored in MongoDB (collection `transfer_jobs`): the contract's record, with dates. */
export type JobDoc = Omit<TransferJobRecord, "create_time" | "update_time" | "transient_since" | "heartbeat_at" | "upload_intents"> & {
  create_time: Date;
  update_time: Date;
  transient_since?: Date | null;
  heartbeat_at?: Date | null;
  upload_intents?: UploadIntent[];
};
/** A multipart upload about to be started whose id is not recorded yet (`TransferJobRecord.upload_intents`), with a date. */
export type UploadIntent = Omit<NonNullable<TransferJobRecord["upload_intents"]>[number], "since"> & { since: Date };
export type GetJobSpec = NonNullable<JobDoc["get"]>;

export function dedupeKey(d: { dataset_id: string; provider: string; authz_id: string; bucket: string; planned_key: string; idempotency_key: string }): string {
  return JSON.stringify([d.dataset_id, d.provider, d.authz_id, d.bucket, d.planned_key, d.idempotency_key]);
}

/** The public view (`GET /api/jobs/{id}`). */
export function toTransferJob(d: JobDoc): TransferJob {
  return {
    id: d._id,
    model_class: "Job",
    state: d.state,
    create_time: d.create_time.toISOString(),
    update_time: d.update_time.toISOString(),
    tool_id: d.direction === "get" ? "get_from_cloud" : "send_to_cloud",
    ...(d.direction ? { direction: d.direction } : {}),
    history_id: d.history_id,
    dataset_id: d.dataset_id,
    provider: d.provider,
    authz_id: d.authz_id,
    bucket: d.bucket,
    object_key: d.object_key,
    overwrite_policy: d.overwrite_policy,
    outcome: d.outcome,
    bytes_total: d.bytes_total,
    bytes_done: d.bytes_done,
    checksum: d.checksum,
    attempts: d.attempts,
    error: d.error,
    ...(d.request_id ? { request_id: d.request_id } : {}),
  };
}
