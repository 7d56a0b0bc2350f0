import type { Actor, AuthzIssueCredentials, HistoryDatasetsForSend, OverwritePolicy, RpcRequest, RpcResponse, SendableDataset, SendResult, TransferSend } from "@skyferry/contracts";
import { malformedId } from "@skyferry/errors";
import { invalidBucket } from "../errors.ts";
import { dedupeKey, type JobDoc } from "../jobs/job-doc.ts";
import type { JobRepository } from "../jobs/repository.ts";
import { bucketNameProblem } from "./bucket-name.ts";
import { failedLabel, sentLabel } from "./labels.ts";
import { checkKeyTemplate, galaxyLabel, keyProblem, objectKey } from "./object-key.ts";

export type SendRequest = RpcRequest<typeof TransferSend>;

/** The collaborators a send needs; each is a thin call over NATS in production. */
export interface SendPlannerDeps {
  histories: (actor: Actor, historyId: string, datasetIds: string[] | undefined) => Promise<RpcResponse<typeof HistoryDatasetsForSend>>;
  describeAuthz: (actor: Actor, authzId: string) => Promise<{ provider: JobDoc["provider"] }>;
  /** Obtains credentials now (fail fast: 401 with the provider's reason). */
  issueCredentials: (actor: Actor, authzId: string) => Promise<RpcResponse<typeof AuthzIssueCredentials>>;
  jobs: JobRepository;
  /** Publishes the work item (message id = `msgId`). */
  enqueue: (job: JobDoc, msgId: string) => Promise<void>;
  newId: () => string;
  now: () => Date;
}

const ID = /^[0-9a-f]{16}$/;
/** Jobs stored (one insertMany) and then published together. */
const QUEUE_BATCH = 100;

/** Turns a send request into jobs: checks ownership, bucket and credentials first, then queues one job per dataset. */
export function createSendPlanner(deps: SendPlannerDeps) {
  return async function send(req: SendRequest): Promise<SendResult> {
    const { actor } = req;
    if (!ID.test(req.history_id)) throw malformedId("history_id", req.history_id);
    if (!ID.test(req.authz_id)) throw malformedId("authz_id", req.authz_id);
    if (req.key_template !== undefined) checkKeyTemplate(req.key_template);
    const datasetIds = req.dataset_ids ?? undefined;
    // The three lookups run at once; their errors still count in this order: ownership (404), the
    // bucket name (400), credentials (401).
    const [history, authz, credentials] = await Promise.allSettled([
      deps.histories(actor, req.history_id, datasetIds),
      deps.describeAuthz(actor, req.authz_id),
      deps.issueCredentials(actor, req.authz_id),
    ]);
    if (history.status === "rejected") throw history.reason;
    if (authz.status === "rejected") throw authz.reason;
    const provider = authz.value.provider;
    const problem = bucketNameProblem(provider, req.bucket);
    if (problem) throw invalidBucket(req.bucket, problem);
    if (credentials.status === "rejected") throw credentials.reason;

    const policy: OverwritePolicy = req.overwrite_policy ?? (req.overwrite_existing ? "overwrite" : "rename");
    const result: SendResult = { sent_dataset_labels: [], failed_dataset_labels: [], bucket_name: req.bucket, sent: [], failed: [] };
    const fail = (object: string, error: string, datasetId?: string) => {
      result.failed.push({ object, error, ...(datasetId ? { dataset_id: datasetId } : {}) });
      result.failed_dataset_labels.push(failedLabel(object, error));
    };
    const planned: Array<{ dataset: SendableDataset; key: string }> = [];
    for (const d of history.value.datasets) {
      const unusable = unusableReason(d);
      const key = objectKey(
        { history_name: history.value.history.name, history_id: req.history_id, hid: d.hid, name: d.name, dataset_id: d.id, ext: d.extension },
        { prefix: req.prefix, keyTemplate: req.key_template },
      );
      const bad = unusable ?? keyProblem(key);
      if (bad) fail(unusable ? galaxyLabel(d.name) : key, bad, d.id);
      else planned.push({ dataset: d, key });
    }
    for (const id of history.value.missing) fail(id, `No dataset with ID '${id.slice(0, 64)}' in history '${req.history_id}'.`);

    const now = deps.now();
    const docs = planned.map(({ dataset: d, key }): JobDoc => {
      const base = {
        idempotency_key: req.idempotency_key, dataset_id: d.id, provider, authz_id: req.authz_id, bucket: req.bucket, planned_key: key,
      };
      return {
        _id: deps.newId(), dedupe_key: dedupeKey(base), ...base, user_id: actor.user_id, history_id: req.history_id, hid: d.hid,
        dataset_name: d.name, store_key: d.store_key, object_key: key, overwrite_policy: policy, storage_class: req.storage_class ?? null,
        metadata: req.metadata ?? {}, state: "queued", outcome: null, bytes_total: d.file_size, bytes_done: 0, checksum: d.hashes,
        attempts: 0, retries: 0, error: null, upload: null, worker: null, create_time: now, update_time: now,
      };
    });
    // Stored and published a batch at a time, each batch's publishes running while the next is
    // stored: workers start on the first jobs of a large send while the rest are still planned.
    const publishing: Array<Promise<Array<{ job: JobDoc; key: string }>>> = [];
    for (let at = 0; at < docs.length; at += QUEUE_BATCH) {
      const stored = await deps.jobs.insertManyOrFind(docs.slice(at, at + QUEUE_BATCH));
      const published = mapLimit(stored, 32, async ({ doc: job }, i) => {
        // A job never picked up (its publish may have failed) is published again: JetStream drops
        // the duplicate within its window, and a worker claims a job only while it is unfinished.
        if (job.state === "queued" && job.attempts === 0) await deps.enqueue(job, job._id);
        return { job, key: planned[at + i]!.key };
      });
      published.catch(() => undefined); // awaited below, in order; a failure must not go unhandled meanwhile
      publishing.push(published);
    }
    const jobs = (await Promise.all(publishing)).flat();
    for (const { job, key } of jobs) {
      result.sent.push({ object: key, job_id: job._id, dataset_id: job.dataset_id, hid: job.hid });
      result.sent_dataset_labels.push(sentLabel(key, job._id));
    }
    return result;
  };
}

function unusableReason(d: SendableDataset): string | null {
  if (d.purged) return "The dataset is purged.";
  if (d.deleted) return "The dataset is deleted.";
  if (d.state !== "ok") return `The dataset is in state '${d.state}', not 'ok'.`;
  return null;
}

/** Maps with at most `limit` calls in flight, keeping order. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const run = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, run));
  return out;
}
