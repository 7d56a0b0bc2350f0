import type { Logger } from "@skyferry/logger";
import { jobStranded } from "../errors.ts";
import type { JobDoc } from "../jobs/job-doc.ts";
import type { JobError } from "../jobs/lifecycle.ts";
import type { JobRepository } from "../jobs/repository.ts";
import { formatDuration } from "./failure.ts";
import type { Lease } from "./lease.ts";

export interface ReconcilerDeps {
  jobs: Pick<JobRepository, "stale" | "redrive" | "fail" | "countActive">;
  /** One sweeper at a time across replicas. */
  lease: Lease;
  /** The work consumer's backlog: queued jobs are judged only when nothing is waiting undelivered. */
  backlog: () => Promise<{ pending: number; ackPending: number }>;
  /** Publishes the job's work under `msgId`. */
  enqueue: (job: JobDoc, msgId: string) => Promise<void>;
  /** A job the sweep ended in `error` (its failed event, a get's history item). */
  failed: (job: JobDoc) => void;
  now: () => Date;
  /** A job without a sign of life for this long is re-driven. */
  staleMs: number;
  patienceMs: number;
  /** The database must have answered this long before heartbeats are judged (live workers refresh theirs once it is back). */
  graceMs: number;
  maxRedrives: number;
  /** Jobs looked at per state per sweep. */
  batch: number;
  logger: Logger;
}

export interface SweepResult {
  /** Why nothing was looked at: another instance holds the lease, or the database only just answered again. */
  skipped?: "lease" | "grace";
  redriven: string[];
  failed: string[];
  /**
   * Unfinished jobs by state across the deployment, counted after the sweep by the lease holder
   * only (one count per state per sweep, not per scrape: issue 22's "jobs by state" gauge).
   */
  active?: Record<string, number>;
}

/**
 * The reconciler (issue 25): finds jobs left `running` with a stale heartbeat (their worker died,
 * or its message was lost), and jobs left `queued` without an update for as long while the work
 * queue holds nothing undelivered (their message was lost: terminated, out of deliveries, or never
 * published), and re-drives them -- a new work message `<id>.d<n>` that holds the job's claim, so
 * the worker resumes from the recorded parts and no other message runs the job meanwhile -- or
 * ends them `error` when they cannot be: patience run out since their first transient failure
 * (`gave up after ...`), or re-driven TRANSFER_MAX_REDRIVES times already.
 */
export function createReconciler(deps: ReconcilerDeps) {
  let answeringSince: number | undefined;
  const fail = async (job: JobDoc, error: JobError, result: SweepResult) => {
    const failed = await deps.jobs.fail(job._id, error);
    if (!failed) return;
    deps.failed(failed);
    result.failed.push(job._id);
    deps.logger.warn({ job_id: job._id, user_id: job.user_id, code: error.code }, "stranded job ended in error");
  };
  const reconcile = async (job: JobDoc, t: number, result: SweepResult) => {
    const since = job.transient_since?.getTime();
    if (since !== undefined && t - since >= deps.patienceMs) {
      const last = job.error?.message ?? "a transient failure";
      return fail(job, { ...(job.error ?? {}), code: "XFER_GAVE_UP", message: `gave up after ${formatDuration(t - since)}: ${last}` }, result);
    }
    if ((job.redrives ?? 0) >= deps.maxRedrives) {
      const err = jobStranded(job.redrives ?? 0);
      return fail(job, { code: err.code, message: err.message }, result);
    }
    const redriven = await deps.jobs.redrive(job);
    if (!redriven?.run_msg) return; // a worker wrote meanwhile: alive after all
    // A failed publish leaves the job re-armed (fresh heartbeat/update): the next sweeps try again.
    await deps.enqueue(redriven, redriven.run_msg);
    result.redriven.push(job._id);
    deps.logger.warn({ job_id: job._id, user_id: job.user_id, state: job.state, redrives: redriven.redrives, msg_id: redriven.run_msg }, "stranded job re-driven");
  };
  return {
    /** One sweep; throws when the database or NATS cannot be reached (the next sweep tries again). */
    async sweep(): Promise<SweepResult> {
      const result: SweepResult = { redriven: [], failed: [] };
      const t = deps.now().getTime();
      let held: boolean;
      try {
        held = await deps.lease.take();
      } catch (err) {
        answeringSince = undefined;
        throw err;
      }
      answeringSince ??= t;
      if (!held) return { ...result, skipped: "lease" };
      if (t - answeringSince < deps.graceMs) return { ...result, skipped: "grace", active: await deps.jobs.countActive() };
      const before = new Date(t - deps.staleMs);
      const running = await deps.jobs.stale("running", before, deps.batch);
      const { pending } = await deps.backlog();
      const queued = pending === 0 ? await deps.jobs.stale("queued", before, deps.batch) : [];
      for (const job of [...running, ...queued]) await reconcile(job, t, result);
      result.active = await deps.jobs.countActive();
      return result;
    },
    release: () => deps.lease.release(),
  };
}

/** Runs `sweep` every `intervalMs`, never two at once, until `stop()`, which waits for a sweep under way. */
export function everyInterval(sweep: () => Promise<unknown>, intervalMs: number, onError: (err: unknown) => void): { stop(): Promise<void> } {
  let current: Promise<void> | undefined;
  const timer = setInterval(() => {
    if (current) return;
    current = sweep().then(() => undefined, onError).finally(() => {
      current = undefined;
    });
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await current;
    },
  };
}
