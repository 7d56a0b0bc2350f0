import { failedJobs, type Job, type JobEvent, waitForJobs } from "@skyferry/client/node";
import type { Ctx } from "./context.ts";
import { EXIT } from "./errors.ts";
import { bytes, seconds, stateColor, table } from "./format.ts";
import { TransferBars } from "./progress.ts";

export interface Tracked {
  job_id: string;
  /** What the user recognises: the object key (send) or the object (get). */
  label: string;
  /** Bytes, when known before the job reports them (0 = not yet). */
  total: number;
}

/**
 * Follows jobs to their end with live bars (one per running job, one overall), then answers the
 * jobs as stored. Used by send, get and `jobs watch` (without --json).
 */
export async function followWithBars(ctx: Ctx, tracked: Tracked[], title: string): Promise<Job[]> {
  const bars = new TransferBars(ctx.io, ctx.err, { enabled: !ctx.json, title });
  for (const t of tracked) bars.add(t.job_id, t.label, t.total);
  const onEvent = (e: JobEvent) => {
    if (e.event === "progress") bars.update(e.job_id, e.progress.bytes_done, e.progress.bytes_total);
    else if (e.event === "state" && e.job.state === "running") bars.update(e.job.id, e.job.bytes_done, e.job.bytes_total);
    else if (e.event !== "state" || ["ok", "error", "deleted"].includes(e.job.state)) bars.finish(e.job.id, e.job.state, e.job.error ? `${e.job.error.code}: ${e.job.error.message}` : e.job.outcome === "skipped" ? "skipped" : "");
  };
  try {
    return await waitForJobs(ctx.sky(), tracked.map((t) => t.job_id), { onEvent });
  } finally {
    bars.stop();
  }
}

/** The summary table after jobs ended, and the exit status they mean (1 when any did not end ok). */
export function summarize(ctx: Ctx, jobs: Job[], started: number, extraFailures = 0): number {
  const failed = failedJobs(jobs).length + extraFailures;
  if (!ctx.json) {
    ctx.print(
      table(
        ctx.out,
        ["OBJECT", "STATE", "SIZE", "OUTCOME", "JOB"],
        jobs.map((j) => [j.object_key, stateColor(ctx.out, j.state), bytes(j.bytes_total), j.error ? `${j.error.code}: ${j.error.message}` : (j.outcome ?? ""), j.id]),
      ),
    );
    const total = jobs.reduce((n, j) => n + (j.state === "ok" ? j.bytes_total : 0), 0);
    const secs = (Date.now() - started) / 1000;
    const line = `${jobs.length - failedJobs(jobs).length} ok, ${failed} failed; ${bytes(total)} in ${seconds(secs)} (${bytes(secs > 0 ? total / secs : 0)}/s)`;
    ctx.print(failed ? ctx.out.red(line) : ctx.out.green(line));
  }
  return failed ? EXIT.failed : EXIT.ok;
}

