import type { Actor, TransferJob } from "@skyferry/contracts";
import type { ObjectStore } from "@skyferry/storage";
import { jobNotCancellable, jobNotFound, jobNotRetryable } from "../errors.ts";
import { type JobDoc, toTransferJob } from "./job-doc.ts";
import type { JobRepository } from "./repository.ts";
import type { JobState } from "./types.ts";

export interface JobHandlersDeps {
  jobs: JobRepository;
  /** Tells every worker to stop the job (core NATS). */
  signalAbort: (jobId: string) => void;
  openStore: (job: JobDoc) => Promise<ObjectStore>;
  enqueue: (job: JobDoc, msgId: string) => Promise<void>;
  failedEvent: (job: JobDoc) => void;
  warn: (obj: object, msg: string) => void;
  /** How long a cancel waits for the worker running the job to stop it. */
  cancelWaitMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Job reads and commands; every one is scoped to the actor (another user's job → 404). */
export function createJobHandlers(deps: JobHandlersDeps) {
  const owned = async (actor: Actor, id: string): Promise<JobDoc> => {
    const job = await deps.jobs.getOwned(id, actor.user_id);
    if (!job) throw jobNotFound(id);
    return job;
  };
  /** Waits for the worker to record `deleted`; false when none did in time (it may be gone). */
  const workerStopped = async (id: string): Promise<boolean> => {
    for (const deadline = Date.now() + deps.cancelWaitMs; Date.now() < deadline; await sleep(50)) {
      if ((await deps.jobs.get(id))?.state === "deleted") return true;
    }
    return false;
  };
  return {
    get: async ({ actor, job_id }: { actor: Actor; job_id: string }): Promise<TransferJob> => toTransferJob(await owned(actor, job_id)),

    list: async (q: { actor: Actor; history_id?: string; state?: JobState; limit?: number; offset?: number }): Promise<TransferJob[]> =>
      (await deps.jobs.list(q.actor.user_id, q)).map(toTransferJob),

    /**
     * The mark is inserted first and the abort announced second: a worker either is running the
     * job and hears the abort, or claims it later and finds the mark. Only when no worker
     * records the cancel does this handler write the job and abort its upload itself.
     */
    async cancel({ actor, job_id }: { actor: Actor; job_id: string }): Promise<TransferJob> {
      const before = await owned(actor, job_id);
      if (before.state === "deleted") return toTransferJob(before);
      if (before.state === "ok" || before.state === "error") throw jobNotCancellable(job_id, before.state);
      await deps.jobs.markCancelled(job_id);
      deps.signalAbort(job_id);
      if (before.state === "running" && (await workerStopped(job_id))) return toTransferJob(await owned(actor, job_id));
      const after = await deps.jobs.setDeleted(job_id);
      const upload = (await deps.jobs.get(job_id))?.upload ?? before.upload;
      if (upload) {
        await deps
          .openStore(before)
          .then((store) => store.abort(before.bucket, upload.key, upload.upload_id).finally(() => store.close()))
          .catch((err: unknown) => deps.warn({ err, job_id }, "could not abort the upload of a cancelled job"));
      }
      if (after) deps.failedEvent(after);
      const now = await owned(actor, job_id);
      if (now.state !== "deleted") throw jobNotCancellable(job_id, now.state);
      return toTransferJob(now);
    },

    async retry({ actor, job_id }: { actor: Actor; job_id: string }): Promise<TransferJob> {
      const job = await deps.jobs.retry(job_id, actor.user_id);
      if (!job) throw jobNotRetryable(job_id, (await owned(actor, job_id)).state);
      await deps.enqueue(job, `${job._id}.r${job.retries}`);
      return toTransferJob(job);
    },
  };
}
