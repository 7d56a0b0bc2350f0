import type { TransferJobRecord } from "@skyferry/contracts";
import type { JobState, TransferJob } from "./types.ts";

/** States in which a job still has work to do (not ok, error or deleted). */
export const ACTIVE_STATES: readonly JobState[] = ["new", "queued", "running"];
export const isActive = (state: JobState): boolean => ACTIVE_STATES.includes(state);

/** A transfer job as stored in MongoDB (collection `transfer_jobs`): the contract's record, with dates. */
export type JobDoc = Omit<TransferJobRecord, "create_time" | "update_time"> & { create_time: Date; update_time: Date };
export type GetJobSpec = NonNullable<JobDoc["get"]>;

/** The job as a work message carries it (dates as ISO strings). */
export function toJobRecord(d: JobDoc): TransferJobRecord {
  return { ...d, create_time: d.create_time.toISOString(), update_time: d.update_time.toISOString() };
}

export function fromJobRecord(r: TransferJobRecord): JobDoc {
  return { ...r, create_time: new Date(r.create_time), update_time: new Date(r.update_time) };
}

/**
 * The job a work message's delivery starts from: the copy the message carries when this is its
 * first delivery and the job was never attempted (only the worker running a job writes it, and a
 * cancel meanwhile is found by the check before the job completes); otherwise null, and the worker
 * reads the job back.
 */
export function carriedJob(data: { job?: TransferJobRecord }, deliveryCount: number): JobDoc | null {
  const r = data.job;
  if (!r || deliveryCount !== 1 || r.state !== "queued" || r.attempts !== 0 || r.retries !== 0) return null;
  return fromJobRecord(r);
}

/** Whether a newly queued job's work message may carry it (see `carriedJob`). */
export const isFresh = (d: JobDoc): boolean => d.state === "queued" && d.attempts === 0 && d.retries === 0;

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
  };
}
