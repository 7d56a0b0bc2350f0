import type { Retry, WorkContext } from "@skyferry/bus";
import type { ImportFinish, JobUser } from "@skyferry/contracts";
import type { DatasetStore } from "@skyferry/dataset-store";
import type { Logger } from "@skyferry/logger";
import type { ObjectStore } from "@skyferry/storage";
import { isActive, type JobDoc } from "../jobs/job-doc.ts";
import { type AttemptScope, createPendingWrites, endFailedAttempt, endRun, jobControl, markCancelled, type Patience, type RunningJobs } from "../jobs/lifecycle.ts";
import { startHeartbeat } from "../reliability/heartbeat.ts";
import type { JobRepository } from "../jobs/repository.ts";
import type { createMemoryBudget } from "../worker/memory-budget.ts";
import { throttle } from "../worker/throttle.ts";
import { download } from "./download.ts";

export interface GetRunnerDeps {
  jobs: JobRepository;
  /** The dataset store, writable: the downloaded bytes land here, atomically. */
  datasets: DatasetStore;
  openStore: (job: JobDoc) => Promise<ObjectStore>;
  history: {
    start(actor: JobUser, itemId: string): Promise<void>;
    /** The item is ok (the wiring coalesces the finishes of concurrent jobs into one request). */
    finish(req: ImportFinish): Promise<void>;
  };
  events: {
    progress(job: JobDoc, bytesDone: number): void;
    completed(job: JobDoc): void;
    /** Emits the failed event and marks the history item error (or deleted). */
    failed(job: JobDoc): void;
    retrying?(job: JobDoc, source: string): void;
  };
  running: RunningJobs;
  instance: string;
  logger: Logger;
  progressIntervalMs: number;
  /** Transient failures: retried with a capped doubling delay for at most the patience. */
  patience: Patience;
  /** A claimed job's heartbeat interval, and the age past which another message may take over a heartbeat. */
  heartbeatMs: number;
  staleMs: number;
  /** Objects larger than this are claimed (`running`, attempt counted) and their item marked running before their first byte. */
  largeBytes: number;
  /**
   * Parallel ranged reads of large objects: range size, ranges in flight, and the worker's budget
   * for their buffers ((ranges + 1) × range size per download). Absent: one streamed GET.
   */
  ranges?: { chunkSize: number; concurrency: number; memory: ReturnType<typeof createMemoryBudget> } | undefined;
}

/**
 * The work handler of a get job: streams the object from the provider into the dataset store
 * (never whole in memory; a large object as parallel ranged reads written in order), applying
 * `to_posix_lines` / `space_to_tab` on the way, checks the bytes against the provider's MD5 and
 * the sha256 skyferry wrote when it sent the object, then tells the history service the item is
 * ok and completes the job. A redelivered job (crash, nak) downloads again from the start; the
 * store's write is atomic and durable, so no partial bytes are ever seen as a dataset.
 *
 * The job is run only as stored in MongoDB (docs/trust.md). A large object's job is claimed and its
 * history item marked running before its first byte; a small one's item only when its download
 * lasts longer than HISTORY_START_AFTER progress intervals (a request to the history service per
 * item that nobody would see otherwise), and its job's end is its one write.
 */
export function createGetRunner(deps: GetRunnerDeps) {
  return async function runGet(data: { job_id: string }, ctx: WorkContext): Promise<void | Retry> {
    const id = data.job_id;
    const control = jobControl(ctx.signal);
    deps.running.set(id, control);
    let store: ObjectStore | undefined;
    let promote: NodeJS.Timeout | undefined;
    let release: (() => void) | undefined;
    let heartbeat: { stop(): void } | undefined;
    const writes = createPendingWrites();
    const t0 = performance.now();
    const ms = (since: number) => Math.round(performance.now() - since);
    try {
      // Only what MongoDB says: a work message names the job, never what it does (docs/trust.md).
      const found = await deps.jobs.get(id);
      if (!found?.get || !isActive(found.state) || found.cancel_requested === true || found.direction !== "get") return;
      // A large object is claimed (`running`, attempt counted) before its first byte, so a crash
      // mid-download is visible; a small one's end (with the attempt it was) is its one write.
      const large = found.bytes_total > deps.largeBytes;
      const claimed = large ? await deps.jobs.claim(id, deps.instance, "get", ctx.messageId, staleBefore(deps)) : { ...found, state: "running" as const, worker: deps.instance, attempts: found.attempts + 1 };
      if (!claimed?.get) return;
      const job: JobDoc = claimed;
      const attempts = large ? undefined : job.attempts;
      const ranges = large ? deps.ranges : undefined;
      const actor = { user_id: job.user_id };
      const log = deps.logger.child({ job_id: id, user_id: job.user_id, attempt: job.attempts, ...(job.request_id ? { request_id: job.request_id } : {}) });
      const scope: AttemptScope = { id, jobs: deps.jobs, events: deps.events, log };
      if (large) heartbeat = startHeartbeat({ beat: () => deps.jobs.heartbeat(id, ctx.messageId), intervalMs: deps.heartbeatMs, onLost: () => control.supersede(), onError: (err) => log.warn({ err }, "heartbeat not recorded") });
      // No progress at once: a job done within the interval reports only its completion. Events
      // every interval; the job document every RECORD_PROGRESS_EVERY intervals.
      const recorded = throttle<number>(RECORD_PROGRESS_EVERY * deps.progressIntervalMs, (bytes) => {
        if (bytes >= job.bytes_total) return; // the completion (or the failure) is the next write
        writes.add(deps.jobs.progress(id, bytes).catch((err: unknown) => log.warn({ err }, "progress not recorded")));
      }, { leading: false });
      const progress = throttle<number>(deps.progressIntervalMs, (bytes) => {
        deps.events.progress(job, bytes);
        recorded.push(bytes);
      }, { leading: false });
      let started: Promise<void> | undefined;
      const stopTimers = () => {
        progress.cancel();
        recorded.cancel();
        clearTimeout(promote);
      };
      const cancelled = async () => {
        stopTimers();
        await started; // a late `running` must not land after the item's end
        await markCancelled(scope, "get cancelled");
      };
      const signal = control.signal;
      if (!large) {
        promote = setTimeout(() => {
          started = deps.history.start(actor, job.dataset_id).catch((err: unknown) => log.warn({ err }, "history item not marked running"));
        }, HISTORY_START_AFTER * deps.progressIntervalMs);
      }
      try {
        if (large) await deps.history.start(actor, job.dataset_id);
        const tWait = performance.now();
        if (ranges) release = await ranges.memory.acquire((ranges.concurrency + 1) * ranges.chunkSize, signal);
        const waitMs = ms(tWait);
        const tOpen = performance.now();
        store = await deps.openStore(job);
        const openMs = ms(tOpen);
        const tRead = performance.now();
        const parallel = ranges ? { concurrency: ranges.concurrency, chunkSize: ranges.chunkSize } : undefined;
        const out = await download(job, store, deps.datasets, (n) => progress.push(n), signal, parallel);
        release?.();
        stopTimers();
        const readMs = ms(tRead);
        const tFinish = performance.now();
        if (control.cancelled || (await deps.jobs.isCancelled(id))) {
          await deps.datasets.delete(job.store_key).catch((err: unknown) => log.warn({ err }, "could not remove a cancelled get's bytes"));
          return await cancelled();
        }
        await started;
        const tItem = performance.now();
        await deps.history.finish({ actor, item_id: job.dataset_id, store_key: job.store_key, ...out.dataset });
        const itemMs = ms(tItem);
        await writes.settled();
        // bytes_done counts the object's bytes, as bytes_total does; the dataset may differ in size
        // (to_posix_lines, space_to_tab), and its checksum is the stored dataset's.
        const done = await deps.jobs.complete(id, { object_key: job.object_key, outcome: "downloaded", bytes_done: out.objectBytes, checksum: { sha256: out.dataset.sha256, md5: out.dataset.md5 }, ...(attempts ? { attempts } : {}) });
        if (done) deps.events.completed(done);
        const timing = { wait: waitMs, open: openMs, read: readMs, item: itemMs, finish: ms(tFinish), total: ms(t0) };
        log.info({ object_key: job.object_key, bytes: out.objectBytes, ext: out.dataset.ext, ranges: ranges?.concurrency ?? 1, ms: timing }, "get ok");
      } catch (err) {
        stopTimers();
        await started; // a late `running` must not land after the item's end
        if (control.cancelled) return await cancelled();
        if (ctx.signal.aborted) throw err; // shutting down: handed back (nak), resumed elsewhere
        // Re-driven to another message (reconciler.ts): that one's worker downloads it again.
        if (control.superseded) return log.warn("the job was re-driven to another work message; this run stops");
        return await endFailedAttempt(scope, { err, job, delivery: ctx.deliveryCount, patience: deps.patience, attempts, message: "get failed" });
      }
    } finally {
      heartbeat?.stop();
      clearTimeout(promote);
      await endRun({ id, running: deps.running, control, writes, release, store });
    }
  };
}

/** Progress intervals between two writes of a download's progress to its job (events go out every interval). */
export const RECORD_PROGRESS_EVERY = 4;
/** Progress intervals a small download lasts before its history item is marked running. */
export const HISTORY_START_AFTER = 4;

/** Heartbeats older than this no longer hold a claim against another work message. */
function staleBefore(deps: { patience: Patience; staleMs: number }): Date {
  return new Date(deps.patience.now().getTime() - deps.staleMs);
}
