import { ok, type Skyferry } from "./client.ts";
import { clientError } from "./errors.ts";
import { followJobs, type JobEvent } from "./events.ts";
import { isFinal, type Job } from "./types.ts";

export interface WaitOptions {
  /** Give up after this long (CLIENT_TIMEOUT); default no limit. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Every event as it arrives (progress bars). */
  onEvent?: (event: JobEvent) => void;
}

/**
 * Waits until every job is final and answers them in the order given. Follows their event
 * streams rather than polling; each job is read once more at the end, so the answer is the
 * job as stored (checksums, final key), not an event's copy.
 */
export async function waitForJobs(sky: Skyferry, jobIds: readonly string[], opts: WaitOptions = {}): Promise<Job[]> {
  const controller = new AbortController();
  const onAbort = () => controller.abort();
  opts.signal?.addEventListener("abort", onAbort);
  const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => controller.abort(), opts.timeoutMs);
  try {
    for await (const e of followJobs(sky, jobIds, { signal: controller.signal })) opts.onEvent?.(e);
  } catch (err) {
    if (controller.signal.aborted && !opts.signal?.aborted) throw clientError("CLIENT_TIMEOUT", `The jobs were not all finished after ${opts.timeoutMs} ms.`, err);
    throw err;
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener("abort", onAbort);
  }
  return Promise.all(jobIds.map((id) => getJob(sky, id)));
}

export async function getJob(sky: Skyferry, id: string): Promise<Job> {
  const job = ok(await sky.api.GET("/api/jobs/{id}", { params: { path: { id } } }));
  if (!("bucket" in job)) throw clientError("CLIENT_BAD_RESPONSE", `${id} is an upload's job, not a transfer job`);
  return job;
}

/** Jobs that ended other than `ok` (a skipped object is ok). */
export const failedJobs = (jobs: readonly Job[]): Job[] => jobs.filter((j) => isFinal(j.state) && j.state !== "ok");
