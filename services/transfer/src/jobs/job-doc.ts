import type { CloudProvider, JobState, OverwritePolicy, TransferJob } from "./types.ts";

/** A transfer job as stored in MongoDB (collection `transfer_jobs`). */
/** States in which a job still has work to do (not ok, error or deleted). */
export const ACTIVE_STATES: readonly JobState[] = ["new", "queued", "running"];
export const isActive = (state: JobState): boolean => ACTIVE_STATES.includes(state);

export interface JobDoc {
  _id: string;
  /** Unique: history item + destination + idempotency key (see `dedupeKey`). */
  dedupe_key: string;
  idempotency_key: string;
  user_id: string;
  history_id: string;
  dataset_id: string;
  hid: number;
  dataset_name: string;
  store_key: string;
  authz_id: string;
  provider: CloudProvider;
  bucket: string;
  /** The planned key (before any rename suffix). */
  planned_key: string;
  /** The final key once the object is committed (or the key being uploaded). */
  object_key: string;
  overwrite_policy: OverwritePolicy;
  storage_class: string | null;
  metadata: Record<string, string>;
  state: JobState;
  outcome: "uploaded" | "skipped" | "downloaded" | null;
  bytes_total: number;
  bytes_done: number;
  checksum: { sha256: string; md5: string };
  attempts: number;
  /** How many times the job was retried after an error (work message ids `<id>.r<n>`). */
  retries: number;
  error: { code: string; message: string; provider_reason?: string } | null;
  /** The multipart upload in progress: enough to resume it after a crash, or to abort it. */
  upload: { key: string; upload_id: string } | null;
  worker: string | null;
  create_time: Date;
  update_time: Date;
  /** `get`: the job copies the object `object_key` into the history item `dataset_id` (issue 6). */
  direction?: "get";
  /** What a get job needs beyond the common fields (see services/transfer/src/get/). */
  get?: GetJobSpec;
}

export interface GetJobSpec {
  /** The object's ETag when the get was planned. */
  etag: string;
  space_to_tab: boolean;
  to_posix_lines: boolean;
  /** A forced datatype; null: sniffed. */
  file_type: string | null;
}

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
