import type { Readable } from "node:stream";
import type { DatasetStore } from "@skyferry/dataset-store";
import { type BodyReader, isStorageError, type ObjectStore, type PutResult } from "@skyferry/storage";
import { objectExists, renameExhausted } from "../errors.ts";
import type { JobDoc } from "../jobs/job-doc.ts";
import type { CompletedPartRecord } from "../jobs/types.ts";
import { suffixedKey } from "../send/object-key.ts";
import type { BufferPool } from "./buffer-pool.ts";

export interface UploadHooks {
  /** A multipart upload of `key` is about to be started at the provider: record the intent first (write-ahead). */
  uploadStarting(key: string): Promise<void>;
  uploadStarted(key: string, uploadId: string): Promise<void>;
  partDone(uploadId: string, part: CompletedPartRecord): Promise<void>;
  /** The recorded upload is gone or was for a key we gave up: forget it. */
  uploadCleared(): Promise<void>;
  progress(bytesDone: number): void;
}

export interface UploadSettings {
  partSize: number;
  partConcurrency: number;
  /** Objects up to this many bytes go in one PUT (the part size is raised to the object's size). */
  singlePutMax: number;
  now: () => Date;
  /** Rename attempts before giving up (each a new suffix). */
  maxRenames: number;
  /** Buffers of WHOLE_READ_MAX + 1 bytes that small datasets are read into (see datasetBody). */
  wholeReads?: BufferPool;
}

export type UploadOutcome = { key: string; outcome: "uploaded"; result: PutResult } | { key: string; outcome: "skipped" };

/** The upload in flight, so a failure path can abort it (no orphaned multipart uploads). */
export interface UploadTracker {
  current: { key: string; uploadId: string } | null;
}

/** True when an object of `size` bytes is sent in one PUT rather than a multipart upload. */
export function isSinglePut(size: number, settings: Pick<UploadSettings, "partSize" | "singlePutMax">): boolean {
  return size <= Math.max(settings.partSize, settings.singlePutMax);
}

/**
 * A streamed one-PUT body's buffers, under this: read from a file, the S3 adapter's two reused
 * 512 KiB buffers (see storage-s3's reader-put.ts); from a stream, its chunks of up to 256 KiB in
 * the read stream, the hashing step and the socket.
 */
const STREAM_BUFFER_BYTES = 1024 * 1024;

/**
 * A one-PUT dataset up to this size is read whole into one buffer (the file store: open, read,
 * close) instead of streamed (open, stat, read, close and a stream): measured on this machine
 * (1000 files of 100 KiB, 24 at once) 46-83 µs of CPU per file against 140-310 µs. The S3 adapter
 * reads a one-PUT body whole up to the same size anyway (no more memory).
 */
export const WHOLE_READ_MAX = 256 * 1024;

/**
 * The dataset's bytes for a put: one buffer for a small one-PUT dataset (from `pool` when given;
 * `release` gives it back once the put has succeeded, when nothing holds it any longer); else a
 * reader of positional reads when the store has them (the adapter reads into buffers it reuses, or
 * straight into its part buffers), or a stream.
 */
function datasetBody(datasets: DatasetStore, job: JobDoc, single: boolean, pool: BufferPool | undefined): { open: () => Promise<Readable | Buffer | BodyReader>; release(): void } {
  const openBlob = datasets.openReader ? () => datasets.openReader!(job.store_key) : () => datasets.read(job.store_key);
  if (!single || job.bytes_total > WHOLE_READ_MAX) return { open: openBlob, release: () => undefined };
  let taken: Buffer | undefined;
  return {
    // A blob larger than its declared size comes back null: read on, the put finds it too long.
    open: async () => {
      taken = pool && pool.size > job.bytes_total ? pool.take() : undefined;
      const buf = await datasets.readWhole(job.store_key, job.bytes_total, taken);
      if (buf) return buf;
      if (taken) pool!.give(taken);
      taken = undefined;
      return openBlob();
    },
    release: () => {
      if (taken) pool!.give(taken);
      taken = undefined;
    },
  };
}

/**
 * Bytes of body buffers a job holds: for one PUT the whole object, or a stream buffer when the
 * store streams it (`ObjectStore.streamsSinglePut`; the job declares md5 and sha256); else the
 * parts in flight plus the one being read.
 */
export function memoryNeed(size: number, settings: Pick<UploadSettings, "partSize" | "partConcurrency" | "singlePutMax">, streamsSinglePut = false): number {
  if (!isSinglePut(size, settings)) return (settings.partConcurrency + 1) * settings.partSize;
  return streamsSinglePut ? Math.min(size, STREAM_BUFFER_BYTES) : size;
}

/**
 * Puts the dataset under the planned key, applying the overwrite policy with the provider's
 * create-only condition at commit. A `head` first only saves re-sending bytes when the key is
 * obviously taken; the condition at commit is what decides. Resumes a recorded upload.
 */
export async function uploadDataset(
  job: JobDoc,
  recorded: { key: string; uploadId: string; parts: CompletedPartRecord[] } | null,
  store: ObjectStore,
  datasets: DatasetStore,
  hooks: UploadHooks,
  settings: UploadSettings,
  tracker: UploadTracker,
  signal: AbortSignal,
): Promise<UploadOutcome> {
  const policy = job.overwrite_policy;
  // The rename suffix is the job's own (its creation), not the attempt's: a job run again walks the
  // same keys, and finds there the object an earlier attempt committed (see ownObject).
  const stamp = job.create_time;
  let resume = recorded;
  let key = resume?.key ?? job.planned_key;
  let attempt = resume && resume.key !== job.planned_key ? 1 : 0;
  const single = isSinglePut(job.bytes_total, settings);
  // A recorded upload that an earlier attempt completed, whose end was not recorded (the database
  // went away): done, nothing is sent again.
  const resumed = resume ? await ownObject(store, job, resume.key) : null;
  if (resumed) return { key: resumed.key, outcome: "uploaded", result: resumed };
  // A one-PUT object goes straight to the conditional PUT: a 412 costs less than a HEAD per object.
  if (!resume && !single && policy !== "overwrite" && (await store.head(job.bucket, key))) {
    const own = await ownObject(store, job, key);
    if (own) return { key, outcome: "uploaded", result: own };
    if (policy === "skip") return { key, outcome: "skipped" };
    if (policy === "fail") throw objectExists(job.bucket, key);
    do {
      attempt++;
      key = suffixedKey(job.planned_key, stamp, attempt);
    } while (attempt < settings.maxRenames && (await store.head(job.bucket, key)) && !(await ownObject(store, job, key)));
  }
  tracker.current = resume ? { key: resume.key, uploadId: resume.uploadId } : null;
  for (;;) {
    const target = key;
    const body = datasetBody(datasets, job, single, settings.wholeReads);
    try {
      const result = await store.put({
        bucket: job.bucket,
        key: target,
        body: body.open,
        size: job.bytes_total,
        partSize: single ? Math.max(settings.partSize, job.bytes_total) : settings.partSize,
        concurrency: settings.partConcurrency,
        sha256: job.checksum.sha256,
        // The whole object's md5 is a by-product of a one-PUT upload; for a multipart one the
        // sha256 already covers every byte and each part carries its own MD5, so a third hash
        // pass over the body is not paid for.
        ...(single ? { md5: job.checksum.md5 } : {}),
        metadata: { ...job.metadata, skyferry_job_id: job._id, skyferry_dataset_id: job.dataset_id },
        ...(job.storage_class ? { storageClass: job.storage_class } : {}),
        ifNoneMatch: policy !== "overwrite",
        ...(resume ? { resume: { uploadId: resume.uploadId, parts: resume.parts } } : {}),
        onUploadStarting: () => hooks.uploadStarting(target),
        onUploadStarted: async (uploadId) => {
          tracker.current = { key: target, uploadId };
          await hooks.uploadStarted(target, uploadId);
        },
        onPartDone: (part) => hooks.partDone(tracker.current?.uploadId ?? "", part),
        onProgress: (bytes) => hooks.progress(bytes),
        signal,
      });
      tracker.current = null;
      body.release();
      return { key: target, outcome: "uploaded", result };
    } catch (err) {
      if (!isStorageError(err, "ALREADY_EXISTS")) throw err;
      // The adapter abandoned its upload; the recorded one is forgotten too.
      await abortQuietly(store, job.bucket, tracker);
      await hooks.uploadCleared();
      resume = null;
      // Taken by this job's own object (an earlier attempt committed it; its end was not recorded):
      // done -- no second object, and a create-only policy stays create-only.
      const own = await ownObject(store, job, target);
      if (own) return { key: target, outcome: "uploaded", result: own };
      if (policy === "skip") return { key: target, outcome: "skipped" };
      if (policy === "fail") throw objectExists(job.bucket, target, err);
      attempt++;
      if (attempt > settings.maxRenames) throw renameExhausted(job.planned_key);
      key = suffixedKey(job.planned_key, stamp, attempt);
    }
  }
}

/**
 * The object at `key` when this job wrote it (metadata `skyferry_job_id`) with the dataset's bytes
 * (size and sha256 metadata), as a put's result; null otherwise (absent, or anyone else's).
 */
async function ownObject(store: ObjectStore, job: JobDoc, key: string): Promise<PutResult | null> {
  const info = await store.head(job.bucket, key);
  // radosgw answers metadata names with `-` for `_` (`skyferry-job-id`); others as written.
  const jobId = info ? (info.metadata.skyferry_job_id ?? info.metadata["skyferry-job-id"]) : undefined;
  if (!info || jobId !== job._id || info.size !== job.bytes_total) return null;
  const sha256 = info.metadata.sha256 ?? "";
  if (sha256.toLowerCase() !== job.checksum.sha256.toLowerCase()) return null;
  return { bucket: job.bucket, key, size: info.size, etag: info.etag, sha256, ...(info.md5 ? { md5: info.md5 } : {}), partsUploaded: 0 };
}

/** Aborts the tracked multipart upload, if any; never throws (the upload may already be gone). */
export async function abortQuietly(store: ObjectStore, bucket: string, tracker: UploadTracker): Promise<void> {
  const current = tracker.current;
  tracker.current = null;
  if (current) await store.abort(bucket, current.key, current.uploadId).catch(() => undefined);
}
