import type { ServiceMetrics } from "@skyferry/metrics";
import type { JobDoc } from "./jobs/job-doc.ts";

/** Seconds from a job's queueing to its end: transfers take from a second to hours. */
const JOB_BUCKETS = [0.1, 0.5, 1, 2.5, 5, 15, 30, 60, 300, 900, 1800, 3600, 4 * 3600, 12 * 3600];

const direction = (job: Pick<JobDoc, "direction">) => job.direction ?? "send";

/**
 * What the transfer service counts (issues 22 and 25), told by the places that already report a
 * job's end (its events), a retry (`endFailedAttempt`), a redelivery (the work handler) and a sweep
 * (the reconciler). The queue's depth is read from the consumer's info when scraped.
 */
export function createTransferMetrics(
  m: ServiceMetrics,
  sources: { backlog: () => Promise<{ pending: number; ackPending: number }>; running: () => number },
) {
  const finished = m.counter("skyferry_transfer_jobs_finished_total", "Jobs that reached a final state here: ok, error, or deleted (cancelled).", ["direction", "provider", "state"]);
  const bytes = m.counter("skyferry_transfer_bytes_total", "Bytes of the jobs that ended ok (an object already there and kept counts none).", ["direction", "provider"]);
  const latency = m.histogram("skyferry_transfer_job_latency_seconds", "Seconds from a job's queueing to its end ok, retries and queue wait included.", ["direction", "provider"], JOB_BUCKETS);
  const failures = m.counter("skyferry_transfer_failures_total", "Jobs ended in error, by the error's code (XFER_GAVE_UP: patience ran out).", ["direction", "provider", "code"]);
  const retries = m.counter("skyferry_transfer_retries_total", "Attempts that failed transiently and were handed back to be retried, by what failed.", ["direction", "source"]);
  const redeliveries = m.counter("skyferry_transfer_redeliveries_total", "Work messages delivered again (a worker died, stalled or handed one back).", ["direction"]);
  const sweeps = m.counter("skyferry_transfer_reconciler_jobs_total", "Stranded jobs the reconciler found: re-driven, or ended in error.", ["action"]);
  // One consumer-info request per scrape serves both gauges.
  let backlog: Promise<{ pending: number; ackPending: number }> | undefined;
  const readBacklog = () =>
    (backlog ??= sources.backlog().finally(() => {
      setImmediate(() => (backlog = undefined));
    }));
  m.gauge("skyferry_transfer_queue_pending", "Work messages not yet delivered to any worker (the whole deployment's queue).", [], async function () {
    this.set((await readBacklog()).pending);
  });
  m.gauge("skyferry_transfer_queue_ack_pending", "Work messages delivered and not yet acknowledged: running, or waiting out a retry delay.", [], async function () {
    this.set((await readBacklog()).ackPending);
  });
  // Set by the reconciler's lease holder at each sweep; other replicas report no series, so
  // sum() or max() over the deployment gives the one count.
  const active = m.gauge("skyferry_transfer_jobs", "Unfinished jobs by recorded state across the deployment (new, queued, running), counted at each reconciler sweep by the replica holding its lease. A one-PUT job is recorded running only at its end (it counts as queued while it uploads): skyferry_transfer_jobs_running counts jobs in flight.", ["state"]);
  m.gauge("skyferry_transfer_jobs_running", "Jobs running in this process.", [], function () {
    this.set(sources.running());
  });
  return {
    completed(job: JobDoc): void {
      const labels = { direction: direction(job), provider: job.provider };
      finished.inc({ ...labels, state: "ok" });
      bytes.inc(labels, job.bytes_done ?? 0);
      latency.observe(labels, Math.max(0, job.update_time.getTime() - job.create_time.getTime()) / 1000);
    },
    failed(job: JobDoc): void {
      finished.inc({ direction: direction(job), provider: job.provider, state: job.state });
      if (job.state === "error") failures.inc({ direction: direction(job), provider: job.provider, code: job.error?.code ?? "unknown" });
    },
    retrying(job: JobDoc, source: string): void {
      retries.inc({ direction: direction(job), source });
    },
    redelivered(dir: "send" | "get"): void {
      redeliveries.inc({ direction: dir });
    },
    swept(result: { skipped?: string; redriven: readonly string[]; failed: readonly string[]; active?: Record<string, number> }): void {
      if (result.active) for (const [state, n] of Object.entries(result.active)) active.set({ state }, n);
      else if (result.skipped === "lease") active.reset();
      if (result.redriven.length > 0) sweeps.inc({ action: "redriven" }, result.redriven.length);
      if (result.failed.length > 0) sweeps.inc({ action: "ended" }, result.failed.length);
    },
  };
}

export type TransferMetrics = ReturnType<typeof createTransferMetrics>;
