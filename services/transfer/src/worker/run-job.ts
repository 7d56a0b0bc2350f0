import type { Logger } from "@skyferry/logger";
import type { Retry, WorkContext } from "@skyferry/bus";
import type { DatasetStore } from "@skyferry/dataset-store";
import { isRetryable, isSkyferryError } from "@skyferry/errors";
import type { ObjectStore } from "@skyferry/storage";
import { jobFailedPermanently, providerReasonOf } from "../errors.ts";
import type { JobDoc } from "../jobs/job-doc.ts";
import type { JobRepository } from "../jobs/repository.ts";
import { throttle } from "./throttle.ts";
import { abortQuietly, type UploadSettings, type UploadTracker, uploadDataset } from "./upload.ts";
import { verifyObject } from "./verify.ts";

export interface JobRunnerDeps {
  jobs: JobRepository;
  datasets: DatasetStore;
  /** An object store for the job's authorization, with credentials renewed before they expire. */
  openStore: (job: JobDoc) => Promise<ObjectStore>;
  events: {
    progress(job: JobDoc, bytesDone: number): void;
    completed(job: JobDoc): void;
    failed(job: JobDoc): void;
  };
  /** Jobs running here, by id: a cancel aborts the controller. Registered before the claim. */
  running: Map<string, AbortController>;
  instance: string;
  upload: UploadSettings;
  logger: Logger;
  progressIntervalMs: number;
}

/**
 * The work handler for one job message. Return = ack (done, or nothing left to do); a retryable
 * throw = nak with backoff (the recorded upload is kept and resumed); any other throw = term, after
 * the job is marked `error` with the provider's reason and its multipart upload is aborted.
 * Every write of the job document goes through one chain (see the repository on FerretDB).
 */
export function createJobRunner(deps: JobRunnerDeps) {
  return async function runJob(data: { job_id: string }, ctx: WorkContext): Promise<void | Retry> {
    const id = data.job_id;
    const cancel = new AbortController();
    deps.running.set(id, cancel);
    let chain: Promise<unknown> = Promise.resolve();
    let openedStore: ObjectStore | undefined;
    const write = <T>(fn: () => Promise<T>): Promise<T> => {
      const p = chain.then(fn);
      chain = p.catch(() => undefined);
      return p;
    };
    try {
      const job = await write(() => deps.jobs.claim(id, deps.instance));
      if (!job) return; // finished, cancelled or unknown: nothing to do
      const log = deps.logger.child({ job_id: id, user_id: job.user_id, attempt: job.attempts });
      const signal = AbortSignal.any([ctx.signal, cancel.signal]);
      const tracker: UploadTracker = { current: null };
      const progress = throttle<number>(deps.progressIntervalMs, (bytes) => {
        deps.events.progress(job, bytes);
        write(() => deps.jobs.progress(id, bytes)).catch((err: unknown) => log.warn({ err }, "progress not recorded"));
      });
      const cancelled = async (store: ObjectStore | undefined, committedKey?: string) => {
        progress.cancel();
        if (store) await abortQuietly(store, job.bucket, tracker);
        // Cancelled after the commit: the object is removed, as a cancel promises no object.
        if (store && committedKey) await store.delete(job.bucket, committedKey).catch((err: unknown) => log.warn({ err }, "could not remove a cancelled object"));
        const deleted = await write(() => deps.jobs.setDeleted(id));
        if (deleted) deps.events.failed(deleted);
        log.info("job cancelled");
      };
      if (await deps.jobs.isCancelled(id)) return await cancelled(undefined);
      let store: ObjectStore | undefined;
      try {
        const recorded = job.upload ? { key: job.upload.key, uploadId: job.upload.upload_id, parts: await deps.jobs.parts(id, job.upload.upload_id) } : null;
        log.info({ resume_parts: recorded?.parts.length ?? 0 }, "job started");
        store = openedStore = await deps.openStore(job);
        const s = store;
        const out = await uploadDataset(job, recorded, s, deps.datasets, {
          uploadStarted: (key, uploadId) => write(() => deps.jobs.uploadStarted(id, key, uploadId)),
          partDone: (uploadId, part) => deps.jobs.partDone(id, uploadId, part),
          uploadCleared: () => write(() => deps.jobs.clearUpload(id)),
          progress: (bytes) => progress.push(bytes),
        }, deps.upload, tracker, signal);
        progress.cancel();
        if (out.outcome === "uploaded") verifyObject(job, out.result);
        if (cancel.signal.aborted || (await deps.jobs.isCancelled(id))) return await cancelled(s, out.outcome === "uploaded" ? out.key : undefined);
        const bytes = out.outcome === "uploaded" ? job.bytes_total : 0;
        const done = await write(() => deps.jobs.complete(id, { object_key: out.key, outcome: out.outcome, bytes_done: bytes }));
        if (done) deps.events.completed(done);
        log.info({ object_key: out.key, outcome: out.outcome, bytes: job.bytes_total }, "job ok");
      } catch (err) {
        progress.cancel();
        if (cancel.signal.aborted) return await cancelled(store);
        if (ctx.signal.aborted) throw err; // shutting down: handed back, resumed elsewhere
        const error = { code: isSkyferryError(err) ? err.code : "XFER_INTERNAL", message: err instanceof Error ? err.message : String(err), ...reason(err) };
        if (isRetryable(err) && !ctx.lastAttempt) {
          await write(() => deps.jobs.requeue(id, error));
          throw err;
        }
        if (store) await abortQuietly(store, job.bucket, tracker);
        const failed = await write(() => deps.jobs.fail(id, error));
        if (failed) deps.events.failed(failed);
        log.warn({ err, code: error.code, provider_reason: error.provider_reason }, "job failed");
        throw jobFailedPermanently(id, err);
      }
    } finally {
      deps.running.delete(id);
      await chain;
      await openedStore?.close();
    }
  };
}

function reason(err: unknown): { provider_reason?: string } {
  const r = providerReasonOf(err);
  return r ? { provider_reason: r } : {};
}
