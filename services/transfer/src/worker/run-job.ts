import type { Logger } from "@skyferry/logger";
import type { Retry, WorkContext } from "@skyferry/bus";
import type { DatasetStore } from "@skyferry/dataset-store";
import type { ObjectStore } from "@skyferry/storage";
import { datasetNotOwned } from "../errors.ts";
import { isActive, type JobDoc, type UploadIntent } from "../jobs/job-doc.ts";
import { type AttemptScope, createPendingWrites, endFailedAttempt, endRun, jobControl, markCancelled, type Patience, type RunningJobs } from "../jobs/lifecycle.ts";
import { startHeartbeat } from "../reliability/heartbeat.ts";
import type { JobRepository } from "../jobs/repository.ts";
import { throttle } from "./throttle.ts";
import type { createMemoryBudget } from "./memory-budget.ts";
import { abortQuietly, isSinglePut, memoryNeed, type UploadSettings, type UploadTracker, uploadDataset } from "./upload.ts";
import { newIntent, settleUploadIntents } from "./upload-intents.ts";
import { verifyObject } from "./verify.ts";

type MemoryBudget = ReturnType<typeof createMemoryBudget>;

export interface JobRunnerDeps {
  jobs: JobRepository;
  datasets: DatasetStore;
  /** An object store for the job's authorization, with credentials renewed before they expire; `close()` releases it. */
  openStore: (job: JobDoc) => Promise<ObjectStore>;
  events: {
    progress(job: JobDoc, bytesDone: number): void;
    completed(job: JobDoc): void;
    failed(job: JobDoc): void;
    retrying?(job: JobDoc, source: string): void;
  };
  /**
   * Whether the job's dataset is in a history of the job's user, under the job's store key
   * (history answers, many jobs per request): asked before any byte of it is read.
   */
  datasetOwned: (job: JobDoc) => Promise<boolean>;
  /** Jobs running here, by id: a cancel aborts the job. Registered before the claim. */
  running: RunningJobs;
  instance: string;
  upload: UploadSettings;
  /** The worker's body-buffer budget; a job waits for its share before it reads any bytes. */
  memory?: MemoryBudget;
  logger: Logger;
  progressIntervalMs: number;
  /** Transient failures: retried with a capped doubling delay for at most the patience. */
  patience: Patience;
  /** A claimed job's heartbeat interval, and the age past which another message may take over a heartbeat. */
  heartbeatMs: number;
  staleMs: number;
}

/**
 * The work handler for one job message. Return = ack (done, or nothing left to do); a retryable
 * throw = nak with backoff (the recorded upload is kept and resumed); any other throw = term, after
 * the job is marked `error` with the provider's reason and its multipart upload is aborted.
 *
 * The job is run only as stored in MongoDB (a forged message names at most a job id); its dataset
 * is checked to be its user's before a byte is read (docs/trust.md). A multipart job is claimed
 * (`running`, attempt counted) before its first byte, so a crash mid-upload is visible and
 * resumable. A one-PUT job is one request to the provider, nothing to resume: it is read, sent, and
 * its end (ok or error, with the attempt it was) is its one write -- a small dataset costs the
 * database one read and one update. Every write is one conditional update of the job's document,
 * so a late one (progress after a cancel) can never undo a final state.
 */
export function createJobRunner(deps: JobRunnerDeps) {
  return async function runJob(data: { job_id: string }, ctx: WorkContext): Promise<void | Retry> {
    const id = data.job_id;
    const control = jobControl(ctx.signal);
    deps.running.set(id, control);
    let openedStore: ObjectStore | undefined;
    let release: (() => void) | undefined;
    let heartbeat: { stop(): void } | undefined;
    const writes = createPendingWrites();
    const t0 = performance.now();
    const ms = (since: number) => Math.round(performance.now() - since);
    try {
      const found = await deps.jobs.get(id);
      // Finished, cancelled, unknown, or a get job named by a send's message: nothing to do.
      if (!found || !isActive(found.state) || found.cancel_requested === true || found.direction === "get") return;
      // Asked at once, answered by the time the bytes are needed (history batches the question).
      const owned = deps.datasetOwned(found);
      owned.catch(() => undefined); // awaited below; its failure must not go unhandled meanwhile
      const single = isSinglePut(found.bytes_total, deps.upload);
      // An unclaimed one-PUT job runs as `running` here (its progress events say so), not in MongoDB.
      const claimed: JobDoc | null = single ? { ...found, state: "running", worker: deps.instance, attempts: found.attempts + 1 } : await deps.jobs.claim(id, deps.instance, "send", ctx.messageId, staleBefore(deps));
      if (!claimed) return;
      const job = claimed;
      const attempts = single ? job.attempts : undefined; // recorded with the end of an unclaimed job
      // The job's child logger is made on first use: a job that goes well logs one line, with the
      // same fields, and the bindings are not serialised and redacted a second time.
      const bindings = { job_id: id, user_id: job.user_id, attempt: job.attempts, ...(job.request_id ? { request_id: job.request_id } : {}) };
      let child: Logger | undefined;
      const log = () => (child ??= deps.logger.child(bindings));
      const scope: AttemptScope = { id, jobs: deps.jobs, events: deps.events, get log() { return log(); } };
      const claimMs = ms(t0);
      if (!single) heartbeat = startHeartbeat({ beat: () => deps.jobs.heartbeat(id, ctx.messageId), intervalMs: deps.heartbeatMs, onLost: () => control.supersede(), onError: (err) => log().warn({ err }, "heartbeat not recorded") });
      const signal = control.signal;
      const tracker: UploadTracker = { current: null };
      // The provider's upload the job's document names: only that one can be resumed by a later attempt.
      let recordedUpload = job.upload?.upload_id;
      // No progress at once: a job done within the interval reports only its completion.
      const progress = throttle<number>(deps.progressIntervalMs, (bytes) => {
        deps.events.progress(job, bytes);
        // All bytes sent: the completion (or the failure) is the next write of the job.
        if (bytes >= job.bytes_total) return;
        writes.add(deps.jobs.progress(id, bytes).catch((err: unknown) => log().warn({ err }, "progress not recorded")));
      }, { leading: false });
      const cancelled = async (store: ObjectStore | undefined, committedKey?: string) => {
        progress.cancel();
        if (store) await abortQuietly(store, job.bucket, tracker);
        // Cancelled after the commit: the object is removed, as a cancel promises no object.
        if (store && committedKey) await store.delete(job.bucket, committedKey).catch((err: unknown) => log().warn({ err }, "could not remove a cancelled object"));
        await markCancelled(scope, "job cancelled");
      };
      // The job's upload intents (write-ahead of multipart uploads, upload-intents.ts): this run,
      // holding the claim, is their one writer. Left ones are settled before this run's upload and,
      // if any are still kept, at its end; a failure to settle them keeps them for later.
      let intents: UploadIntent[] = job.upload_intents ?? [];
      let starting: UploadIntent | undefined;
      const settleIntents = async (s: ObjectStore) => {
        if (intents.length === 0) return;
        try {
          const r = await settleUploadIntents(job, intents, s, deps.jobs);
          const left = intents.filter((i) => !r.settled.includes(i));
          if (r.settled.length > 0 && (await deps.jobs.setUploadIntents(id, ctx.messageId, left))) intents = left;
          log().info({ aborted: r.aborted, kept: r.kept.length }, "upload intents settled");
        } catch (err) {
          log().warn({ err }, "upload intents not settled; kept for later");
        }
      };
      let store: ObjectStore | undefined;
      try {
        const recorded = job.upload ? { key: job.upload.key, uploadId: job.upload.upload_id, parts: await deps.jobs.parts(id, job.upload.upload_id) } : null;
        // One line per multipart job (a resume is worth seeing); one-PUT jobs log only their end.
        const startLevel = single ? "debug" : "info";
        if (deps.logger.isLevelEnabled(startLevel)) log()[startLevel]({ resume_parts: recorded?.parts.length ?? 0 }, "job started");
        const tOpen = performance.now();
        store = openedStore = await deps.openStore(job);
        const openMs = ms(tOpen);
        const tWait = performance.now();
        release = await deps.memory?.acquire(memoryNeed(job.bytes_total, deps.upload, store.streamsSinglePut === true), signal);
        const waitMs = ms(tWait);
        if (!(await owned)) throw datasetNotOwned(job.dataset_id);
        const tUpload = performance.now();
        const s = store;
        await settleIntents(s);
        const out = await uploadDataset(job, recorded, s, deps.datasets, {
          uploadStarting: async (key) => {
            const intent = newIntent(key, deps.patience.now());
            if (!(await deps.jobs.setUploadIntents(id, ctx.messageId, [...intents, intent]))) {
              control.supersede();
              throw new Error(`job ${id}: no longer running for message ${ctx.messageId}; no upload started`);
            }
            intents = [...intents, intent];
            starting = intent;
          },
          uploadStarted: async (key, uploadId) => {
            const left = intents.filter((i) => i !== starting);
            await deps.jobs.uploadStarted(id, key, uploadId, left);
            intents = left;
            starting = undefined;
            recordedUpload = uploadId;
          },
          partDone: (uploadId, part) => deps.jobs.partDone(id, uploadId, part),
          uploadCleared: () => deps.jobs.clearUpload(id),
          progress: (bytes) => progress.push(bytes),
        }, deps.upload, tracker, signal);
        release?.();
        progress.cancel();
        const uploadMs = ms(tUpload);
        const tFinish = performance.now();
        if (out.outcome === "uploaded") verifyObject(job, out.result);
        if (control.cancelled) return await cancelled(s, out.outcome === "uploaded" ? out.key : undefined);
        await settleIntents(s); // only kept ones are left: another job's intent on the same key held them
        await writes.settled(); // a progress write still under way lands before the final state
        const bytes = out.outcome === "uploaded" ? job.bytes_total : 0;
        const done = await deps.jobs.complete(id, { object_key: out.key, outcome: out.outcome, bytes_done: bytes, ...(attempts ? { attempts } : {}) });
        // Not completed: cancelled (or finished elsewhere) meanwhile; a cancel gets no object.
        if (!done && (await deps.jobs.isCancelled(id))) return await cancelled(s, out.outcome === "uploaded" ? out.key : undefined);
        if (done) deps.events.completed(done);
        const timing = { claim: claimMs, wait: waitMs, open: openMs, upload: uploadMs, finish: ms(tFinish), total: ms(t0) };
        deps.logger.info({ ...bindings, object_key: out.key, outcome: out.outcome, bytes: job.bytes_total, ms: timing }, "job ok");
      } catch (err) {
        progress.cancel();
        if (control.cancelled) return await cancelled(store);
        if (ctx.signal.aborted) throw err; // shutting down: handed back (nak), resumed elsewhere
        // Re-driven to another message (reconciler.ts): that one's worker goes on from the recorded parts.
        if (control.superseded) return log().warn("the job was re-driven to another work message; this run stops");
        const opened = store;
        // An upload the job has no record of (its start could not be written: the database was
        // down) can never be resumed: aborted now, not left at the provider.
        if (opened && tracker.current && tracker.current.uploadId !== recordedUpload) await abortQuietly(opened, job.bucket, tracker);
        // The recorded multipart upload is aborted only on a permanent failure: a retry resumes it.
        const beforeFail = opened ? () => abortQuietly(opened, job.bucket, tracker).then(() => settleIntents(opened)) : undefined;
        return await endFailedAttempt(scope, { err, job, delivery: ctx.deliveryCount, patience: deps.patience, attempts, message: "job failed", beforeFail });
      }
    } finally {
      heartbeat?.stop();
      await endRun({ id, running: deps.running, control, writes, release, store: openedStore });
    }
  };
}

/** Heartbeats older than this no longer hold a claim against another work message. */
function staleBefore(deps: { patience: Patience; staleMs: number }): Date {
  return new Date(deps.patience.now().getTime() - deps.staleMs);
}
