import { isRetryable, isSkyferryError } from "@skyferry/errors";
import type { Logger } from "@skyferry/logger";
import { classifyFailure, isStorageError, type ObjectStore } from "@skyferry/storage";
import { jobFailedPermanently, providerReasonOf } from "../errors.ts";
import type { JobDoc } from "./job-doc.ts";
import type { JobRepository } from "./repository.ts";
import type { createWriteChain } from "./write-chain.ts";

type WriteChain = ReturnType<typeof createWriteChain>;
export type JobError = NonNullable<JobDoc["error"]>;

/**
 * Progress intervals a short job (a download, a one-PUT upload) lasts before it is written
 * `running`, and between two writes of a download's progress to its job: each is a FerretDB write
 * (tens of ms of its CPU under load, serialised with every other write), and many concurrent jobs
 * of a few seconds would otherwise spend the database on states nobody sees. Progress events go
 * out every interval.
 */
export const RECORD_EVERY = 4;

/** What ending one attempt of a job (send or get) writes through and reports to. */
export interface AttemptScope {
  id: string;
  jobs: Pick<JobRepository, "requeue" | "fail" | "setDeleted">;
  /** The job's write chain: the end's writes queue behind the attempt's own. */
  write: WriteChain["write"];
  events: { failed(job: JobDoc): void };
  log: Logger;
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
 * Ends an attempt that threw. A retryable error before the last attempt requeues the job and is
 * rethrown (nak with backoff). Otherwise `beforeFail` runs (the send runner aborts its multipart
 * upload), the job is marked `error`, the failed event goes out and the job's permanent failure is
 * thrown (term).
 */
export async function endFailedAttempt(
  scope: AttemptScope,
  a: { err: unknown; attempts: number; lastAttempt: boolean; message: string; beforeFail?: (() => Promise<void>) | undefined },
): Promise<never> {
  const { id, jobs, write, log } = scope;
  const error = jobError(a.err);
  if (isRetryable(a.err) && !a.lastAttempt) {
    await write(() => jobs.requeue(id, error, a.attempts));
    throw a.err;
  }
  if (a.beforeFail) await a.beforeFail();
  const failed = await write(() => jobs.fail(id, error, a.attempts));
  if (failed) scope.events.failed(failed);
  log.warn({ err: a.err, code: error.code, provider_reason: error.provider_reason }, a.message);
  throw jobFailedPermanently(id, a.err);
}

/** Marks a cancelled job deleted and emits its failed event; the caller has stopped its timers and removed any bytes first. */
export async function markCancelled(scope: AttemptScope, message: string): Promise<void> {
  const deleted = await scope.write(() => scope.jobs.setDeleted(scope.id));
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
  const onStop = () => controller.abort(outer.reason);
  if (outer.aborted) onStop();
  else outer.addEventListener("abort", onStop, { once: true });
  return {
    signal: controller.signal,
    get cancelled() {
      return cancelled;
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
 * The end of every delivery, however it went: the pending `running` mark is dropped, the memory
 * share given back and the job no longer cancellable here; then its queued writes are awaited and
 * its object store closed.
 */
export async function endRun(r: {
  id: string;
  running: RunningJobs;
  control: { dispose(): void };
  writes: WriteChain;
  promote: NodeJS.Timeout | undefined;
  release: (() => void) | undefined;
  store: ObjectStore | undefined;
}): Promise<void> {
  clearTimeout(r.promote);
  r.release?.();
  r.running.delete(r.id);
  r.control.dispose();
  await r.writes.settled();
  await r.store?.close();
}
