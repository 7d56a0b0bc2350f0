export type { CloudProvider, JobState, OverwritePolicy, TransferJob } from "@skyferry/contracts";

/** A stored part of a multipart upload (S3 ETag or Azure block id). */
export interface CompletedPartRecord {
  number: number;
  etag: string;
  size: number;
}
