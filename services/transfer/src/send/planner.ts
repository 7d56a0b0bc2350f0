import type { Actor, AuthzIssueCredentials, HistoryDatasetsForSend, OverwritePolicy, RpcRequest, RpcResponse, SendableDataset, SendResult, TransferSend } from "@skyferry/contracts";
import { malformedId } from "@skyferry/errors";
import { invalidBucket } from "../errors.ts";
import { dedupeKey, type JobDoc } from "../jobs/job-doc.ts";
import type { JobRepository } from "../jobs/repository.ts";
import { bucketNameProblem } from "./bucket-name.ts";
import { failedLabel, sentLabel } from "./labels.ts";
import { checkKeyTemplate, checkPrefix, galaxyLabel, keyProblem, objectKey } from "./object-key.ts";
import pMap from "p-map";

export type SendRequest = RpcRequest<typeof TransferSend>;
type HistoryPage = RpcResponse<typeof HistoryDatasetsForSend>;

/** The collaborators a send needs; each is a thin call over NATS in production. */
export interface SendPlannerDeps {
  /** The history's datasets, a page at a time (any order across pages); a 404 when the actor does not own it. */
  histories: (actor: Actor, historyId: string, datasetIds: string[] | undefined) => AsyncIterable<HistoryPage>;
  /** The authorization's provider and a job grant for it (stored on each job of the send). */
  describeAuthz: (actor: Actor, authzId: string) => Promise<{ provider: JobDoc["provider"]; grant?: string | undefined }>;
  /** Obtains credentials now (fail fast: 401 with the provider's reason). */
  issueCredentials: (actor: Actor, authzId: string) => Promise<RpcResponse<typeof AuthzIssueCredentials>>;
  /**
   * The bucket exists and the credentials may use it (404 / 403 with the provider's reason);
   * nothing is queued otherwise. Absent: not checked.
   */
  checkBucket?: (actor: Actor, authzId: string, bucket: string) => Promise<void>;
  jobs: JobRepository;
  /** Publishes the work item (message id = `msgId`). */
  enqueue: (job: JobDoc, msgId: string) => Promise<void>;
  newId: () => string;
  now: () => Date;
}

const ID = /^[0-9a-f]{16}$/;
/** Jobs stored (one insertMany) and then published together. */
const QUEUE_BATCH = 100;

/**
 * Turns a send request into jobs: checks ownership, bucket and credentials first, then queues one
 * job per dataset. The history's datasets come a page at a time, and each page's jobs are stored
 * and published while the next page is read: workers start on the first jobs of a large send
 * while the rest of the history is still being read. Labels are in hid order.
 */
export function createSendPlanner(deps: SendPlannerDeps) {
  return async function send(req: SendRequest): Promise<SendResult> {
    const { actor } = req;
    if (!ID.test(req.history_id)) throw malformedId("history_id", req.history_id);
    if (!ID.test(req.authz_id)) throw malformedId("authz_id", req.authz_id);
    if (req.prefix !== undefined) checkPrefix(req.prefix);
    if (req.key_template !== undefined) checkKeyTemplate(req.key_template);
    const datasetIds = req.dataset_ids ?? undefined;
    const pages = deps.histories(actor, req.history_id, datasetIds)[Symbol.asyncIterator]();
    try {
      // The three lookups run at once; their errors still count in this order: ownership (404),
      // the bucket name (400), credentials (401). Nothing is queued before all three pass.
      const [first, authz, credentials] = await Promise.allSettled([
        pages.next(),
        deps.describeAuthz(actor, req.authz_id),
        deps.issueCredentials(actor, req.authz_id),
      ]);
      if (first.status === "rejected") throw first.reason;
      if (authz.status === "rejected") throw authz.reason;
      const provider = authz.value.provider;
      const grant = authz.value.grant;
      const problem = bucketNameProblem(provider, req.bucket);
      if (problem) throw invalidBucket(req.bucket, problem);
      if (credentials.status === "rejected") throw credentials.reason;
      await deps.checkBucket?.(actor, req.authz_id, req.bucket);

      const policy: OverwritePolicy = req.overwrite_policy ?? (req.overwrite_existing ? "overwrite" : "rename");
      const now = deps.now();
      const failed: Array<{ hid: number; object: string; error: string; dataset_id?: string }> = [];
      const seen = new Set<string>();
      const missing: string[] = [];
      const publishing: Array<Promise<Array<{ job: JobDoc; key: string }>>> = [];
      const queue = async (page: HistoryPage) => {
        const planned: Array<{ dataset: SendableDataset; key: string }> = [];
        for (const d of page.datasets) {
          if (seen.has(d.id)) continue; // on two pages (a dataset moved while it was read): sent once
          seen.add(d.id);
          const unusable = unusableReason(d);
          const key = objectKey(
            { history_name: page.history.name, history_id: req.history_id, hid: d.hid, name: d.name, dataset_id: d.id, ext: d.extension },
            { prefix: req.prefix, keyTemplate: req.key_template },
          );
          const bad = unusable ?? keyProblem(key);
          if (bad) failed.push({ hid: d.hid, object: unusable ? galaxyLabel(d.name) : key, error: bad, dataset_id: d.id });
          else planned.push({ dataset: d, key });
        }
        missing.push(...page.missing);
        const docs = planned.map(({ dataset: d, key }) => jobDoc(req, d, key, { provider, policy, now, id: deps.newId(), grant }));
        // Stored and published a batch at a time, each batch's publishes running while the next
        // is stored (and the next page read).
        for (let at = 0; at < docs.length; at += QUEUE_BATCH) {
          const stored = await deps.jobs.insertManyOrFind(docs.slice(at, at + QUEUE_BATCH));
          const published = pMap(
            stored,
            async ({ doc: job }, i) => {
              // A job never picked up (its publish may have failed) is published again: JetStream
              // drops the duplicate within its window, and a worker claims a job only while it is
              // unfinished.
              if (job.state === "queued" && job.attempts === 0) await deps.enqueue(job, job._id);
              return { job, key: planned[at + i]!.key };
            },
            { concurrency: 32 },
          );
          published.catch(() => undefined); // awaited below, in order; a failure must not go unhandled meanwhile
          publishing.push(published);
        }
      };
      for (let page = first.value; !page.done; page = await pages.next()) await queue(page.value);

      const result: SendResult = { sent_dataset_labels: [], failed_dataset_labels: [], bucket_name: req.bucket, sent: [], failed: [] };
      const jobs = (await Promise.all(publishing)).flat().sort((a, b) => a.job.hid - b.job.hid);
      for (const { job, key } of jobs) {
        result.sent.push({ object: key, job_id: job._id, dataset_id: job.dataset_id, hid: job.hid });
        result.sent_dataset_labels.push(sentLabel(key, job._id));
      }
      const fail = (object: string, error: string, datasetId?: string) => {
        result.failed.push({ object, error, ...(datasetId ? { dataset_id: datasetId } : {}) });
        result.failed_dataset_labels.push(failedLabel(object, error));
      };
      for (const f of failed.sort((a, b) => a.hid - b.hid)) fail(f.object, f.error, f.dataset_id);
      for (const id of missing) fail(id, `No dataset with ID '${id.slice(0, 64)}' in history '${req.history_id}'.`);
      return result;
    } finally {
      await pages.return?.(); // an early end (a failed check) stops the history's replies
    }
  };
}

function jobDoc(
  req: SendRequest,
  d: SendableDataset,
  key: string,
  o: { provider: JobDoc["provider"]; policy: OverwritePolicy; now: Date; id: string; grant: string | undefined },
): JobDoc {
  const base = {
    idempotency_key: req.idempotency_key, dataset_id: d.id, provider: o.provider, authz_id: req.authz_id, bucket: req.bucket, planned_key: key,
  };
  return {
    _id: o.id, dedupe_key: dedupeKey(base), ...base, user_id: req.actor.user_id, history_id: req.history_id, hid: d.hid,
    dataset_name: d.name, store_key: d.store_key, object_key: key, overwrite_policy: o.policy, storage_class: req.storage_class ?? null,
    metadata: req.metadata ?? {}, state: "queued", outcome: null, bytes_total: d.file_size, bytes_done: 0, checksum: d.hashes,
    attempts: 0, retries: 0, error: null, upload: null, worker: null, create_time: o.now, update_time: o.now, ...(o.grant ? { grant: o.grant } : {}),
    ...(req.actor.request_id ? { request_id: req.actor.request_id } : {}),
  };
}

function unusableReason(d: SendableDataset): string | null {
  if (d.purged) return "The dataset is purged.";
  if (d.deleted) return "The dataset is deleted.";
  if (d.state !== "ok") return `The dataset is in state '${d.state}', not 'ok'.`;
  return null;
}
