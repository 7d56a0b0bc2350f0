import type { Retry } from "@skyferry/bus";
import { isSkyferryError } from "@skyferry/errors";
import type { Logger } from "@skyferry/logger";
import { classifyFailure, isStorageError, type ObjectStore } from "@skyferry/storage";
import { jobFailedPermanently, providerReasonOf } from "../errors.ts";
import { classifyWorkFailure, formatDuration, retryDelayMs } from "../reliability/failure.ts";
import type { JobDoc } from "./job-doc.ts";
import type { JobRepository } from "./repository.ts";
export type JobError = NonNullable<JobDoc["error"]>;

/**
 * Writes an attempt started without waiting for them (progress): the end of the attempt waits
 * for them before its final write, so none lands after it. (They are conditional on the job being
 * unfinished, so even a late one could not undo the final state; this keeps `bytes_done` right.)
 */
export function createPendingWrites() {
  const pending = new Set<Promise<unknown>>();
  return {
    add(p: Promise<unknown>): void {
      pending.add(p);
      void p.finally(() => pending.delete(p));
    },
    settled: (): Promise<unknown> => Promise.allSettled([...pending]),
  };
}
type PendingWrites = ReturnType<typeof createPendingWrites>;

/** What ending one attempt of a job (send or get) writes through and reports to. */
export interface AttemptScope {
  id: string;
  jobs: Pick<JobRepository, "requeue" | "fail" | "setDeleted">;
  /** `retrying`: told of each transient failure handed back (the service's metrics). */
  events: { failed(job: JobDoc): void; retrying?(job: JobDoc, source: string): void };
  log: Logger;
}

/** How long and how a job keeps trying through transient failures (issue 25). */
export interface Patience {
  /** From the first transient failure of a run of them, after which the job gives up (`SKYFERRY_TRANSIENT_PATIENCE_MS`). */
  patienceMs: number;
  /** Cap of the doubling delay between attempts. */
  maxDelayMs: number;
  now: () => Date;
}

/**
 * The error stored on the job. A storage failure is told in the fixed vocabulary (`failure`, its
 * fixed text as `message`) with the provider's status and code, never the provider's body; a
 * coded error of ours keeps its code and message; anything else is XFER_INTERNAL with no text of
 * the exception (it is logged).
 */
export function jobError(err: unknown): JobError {
  // SOURCE: reading our own dataset failed, not the provider: our message says which.
  if (isStorageError(err) && (err as { storageCode: string }).storageCode !== "SOURCE") {
    const f = classifyFailure(err);
    const reason = providerReasonOf(err);
    const text = f.failure === "refused_address" ? (err as Error).message : f.reason;
    return {
      code: (err as { code: string }).code,
      message: text,
      failure: f.failure,
      ...(reason && /^[A-Za-z][A-Za-z0-9_. -]{0,63}$/.test(reason) ? { provider_reason: reason } : {}),
      ...(f.provider_status !== undefined ? { provider_status: f.provider_status } : {}),
      ...(f.provider_code ? { provider_code: f.provider_code } : {}),
    };
  }
  if (isSkyferryError(err)) return { code: err.code, message: err.message };
  return { code: "XFER_INTERNAL", message: "The transfer failed on our side (an internal error); it is logged." };
}

/**
 * Ends an attempt that threw, by the one classification of failures (reliability/failure.ts).
 * Transient (database, bus, provider 5xx/throttling/unreachable/timeout): the job goes back to
 * `queued` with the failure as its last error and the start of its run of transient failures
 * recorded, and the message is handed back after a doubling, capped delay (a nak, never a term);
 * its multipart upload is kept for the next attempt to resume. Once the patience since that start
 * has run out, or for a permanent failure: `beforeFail` runs (the send runner aborts its multipart
 * upload), the job is marked `error` (`gave up after <duration>: <last reason>` for the former),
 * the failed event goes out and the job's permanent failure is thrown (term).
 *
 * A write that fails here (the database being down is what made the attempt fail, often) throws
 * that error: the work handler's guard hands the message back, neither acknowledged nor terminated.
 */
export async function endFailedAttempt(
  scope: AttemptScope,
  a: { err: unknown; job: JobDoc; delivery: number; patience: Patience; attempts?: number | undefined; message: string; beforeFail?: (() => Promise<void>) | undefined },
): Promise<Retry> {
  const { id, jobs, log } = scope;
  const failure = classifyWorkFailure(a.err);
  const coded = jobError(a.err);
  // A database or network fault has no code of ours: the fixed reason says what it was.
  const error: JobError = failure.kind === "transient" && coded.code === "XFER_INTERNAL" ? { code: "XFER_UNAVAILABLE", message: failure.reason } : coded;
  const now = a.patience.now();
  const since = a.job.transient_since ?? now;
  const waited = now.getTime() - since.getTime();
  if (failure.kind === "transient" && waited < a.patience.patienceMs) {
    const retryAfterMs = retryDelayMs(a.delivery, a.patience.maxDelayMs);
    log.warn({ err: a.err, code: error.code, source: failure.source, retry_after_ms: retryAfterMs, transient_ms: waited }, `${a.message}; will retry`);
    await jobs.requeue(id, error, since, a.attempts);
    scope.events.retrying?.(a.job, failure.source);
    return { retryAfterMs };
  }
  const final: JobError = failure.kind === "transient" ? { ...error, code: "XFER_GAVE_UP", message: `gave up after ${formatDuration(waited)}: ${error.message}` } : error;
  if (a.beforeFail) await a.beforeFail();
  const failed = await jobs.fail(id, final, a.attempts);
  if (failed) scope.events.failed(failed);
  log.warn({ err: a.err, code: final.code, provider_reason: final.provider_reason, source: failure.source }, failure.kind === "transient" ? `${a.message}; gave up` : a.message);
  throw jobFailedPermanently(id, a.err);
}

/** Marks a cancelled job deleted and emits its failed event; the caller has stopped its timers and removed any bytes first. */
export async function markCancelled(scope: AttemptScope, message: string): Promise<void> {
  const deleted = await scope.jobs.setDeleted(scope.id);
  if (deleted) scope.events.failed(deleted);
  scope.log.info(message);
}

/** What the worker's map of running jobs holds: a cancel calls `abort()`. */
export interface Cancellable {
  abort(): void;
}

/** Jobs running in this process, by id. */
export type RunningJobs = Map<string, Cancellable>;

/**
 * A job's stop signal: it fires on a cancel (`abort()`, from the running-jobs map) or when the
 * worker stops (`outer`), and `cancelled` tells the two apart. One controller and one listener on
 * the worker's signal, removed by `dispose()`: `AbortSignal.any` would register a WeakRef and a
 * finalizer per job, for every small dataset.
 */
export function jobControl(outer: AbortSignal) {
  const controller = new AbortController();
  let cancelled = false;
  let superseded = false;
  const onStop = () => controller.abort(outer.reason);
  if (outer.aborted) onStop();
  else outer.addEventListener("abort", onStop, { once: true });
  return {
    signal: controller.signal,
    get cancelled() {
      return cancelled;
    },
    /** True once the job's claim went to another work message (a re-drive): this run stops, writing nothing more. */
    get superseded() {
      return superseded;
    },
    supersede() {
      superseded = true;
      controller.abort();
    },
    abort() {
      cancelled = true;
      controller.abort();
    },
    dispose() {
      outer.removeEventListener("abort", onStop);
    },
  };
}

/**
 * The end of every delivery, however it went: the memory share is given back and the job no
 * longer cancellable here; then its pending writes are awaited and its object store closed.
 */
export async function endRun(r: {
  id: string;
  running: RunningJobs;
  control: { dispose(): void };
  writes: PendingWrites;
  release: (() => void) | undefined;
  store: ObjectStore | undefined;
}): Promise<void> {
  r.release?.();
  r.running.delete(r.id);
  r.control.dispose();
  await r.writes.settled();
  await r.store?.close();
}
