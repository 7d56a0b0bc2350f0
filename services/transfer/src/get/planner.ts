import type { Actor, FailedGet, HistoryImportCreate, RpcRequest, RpcResponse, TransferGetPlan } from "@skyferry/contracts";
import { malformedId, missingField } from "@skyferry/errors";
import type { ObjectStore } from "@skyferry/storage";
import { invalidBucket } from "../errors.ts";
import type { JobDoc } from "../jobs/job-doc.ts";
import type { JobRepository } from "../jobs/repository.ts";
import type { StoreFor } from "../worker/stores.ts";
import { bucketNameProblem } from "../send/bucket-name.ts";
import { bucketError, bucketNotFound, prefixTooLarge, tooManyObjects } from "./errors.ts";
import { flag } from "./transforms.ts";
import pMap from "p-map";

type GetRequest = RpcRequest<typeof TransferGetPlan>;
type GetResult = RpcResponse<typeof TransferGetPlan>;
type CreatedItems = RpcResponse<typeof HistoryImportCreate>["items"];

export interface GetPlannerDeps {
  /** 404 unless the actor owns the history. */
  ownHistory: (actor: Actor, historyId: string) => Promise<void>;
  /** 404 unless the actor owns the authorization. */
  describeAuthz: (actor: Actor, authzId: string) => Promise<{ provider: JobDoc["provider"]; grant?: string | undefined }>;
  openStore: (who: StoreFor) => Promise<ObjectStore>;
  createItems: (req: RpcRequest<typeof HistoryImportCreate>) => Promise<CreatedItems>;
  failItem: (actor: Actor, itemId: string, reason: string) => Promise<void>;
  jobs: Pick<JobRepository, "insertManyOrFind" | "fail">;
  enqueue: (job: JobDoc, msgId: string) => Promise<void>;
  newId: () => string;
  now: () => Date;
  limits: { maxObjects: number; maxBytes: number; headConcurrency: number };
}

const ID = /^[0-9a-f]{16}$/;

interface Found { key: string; size: number; etag: string }

/**
 * Turns a get request into queued history items and jobs, validating everything first: nothing is
 * created when the request fails, and a missing object is only a failed entry.
 */
export function createGetPlanner(deps: GetPlannerDeps) {
  return async function planGet(req: GetRequest): Promise<GetResult> {
    const actor = req.actor;
    if (!ID.test(req.history_id)) throw malformedId("history_id", req.history_id);
    if (!ID.test(req.authz_id)) throw malformedId("authz_id", req.authz_id);
    if (req.objects == null && req.prefix === undefined) throw missingField("objects", "Missing required field: objects (or prefix).");
    if (req.objects && req.objects.length > deps.limits.maxObjects) throw tooManyObjects(req.objects.length, deps.limits.maxObjects);
    const args = req.input_args ?? {};
    const [, authz] = await Promise.all([deps.ownHistory(actor, req.history_id), deps.describeAuthz(actor, req.authz_id)]);
    const problem = bucketNameProblem(authz.provider, req.bucket);
    if (problem) throw invalidBucket(req.bucket, problem);

    const store = await deps.openStore({ user_id: actor.user_id, authz_id: req.authz_id, actor });
    let found: Found[];
    const failed: FailedGet[] = [];
    try {
      const exists = await store.bucketExists(req.bucket).catch((err: unknown) => Promise.reject(bucketError(req.bucket, err)));
      if (!exists) throw bucketNotFound(req.bucket);
      found = [];
      if (req.objects) {
        const keys = [...new Set(req.objects)];
        const heads = await pMap(keys, (key) => store.head(req.bucket, key).catch((err: unknown) => Promise.reject(bucketError(req.bucket, err))), { concurrency: deps.limits.headConcurrency });
        heads.forEach((info, i) => {
          if (info) found.push({ key: keys[i]!, size: info.size, etag: info.etag });
          else failed.push({ object: keys[i]!, error: `The object '${keys[i]!.slice(0, 200)}' does not exist in '${req.bucket}'.` });
        });
      }
      if (req.prefix !== undefined) found.push(...(await expandPrefix(store, req.bucket, req.prefix, found, deps.limits)));
    } finally {
      await store.close();
    }
    if (found.length > deps.limits.maxObjects) throw tooManyObjects(found.length, deps.limits.maxObjects);
    if (found.length === 0) return { items: [], failed, bucket_name: req.bucket };

    const fileType = args.file_type && args.file_type !== "auto" ? args.file_type : null;
    const dbkey = args.dbkey && args.dbkey !== "?" ? args.dbkey : undefined;
    const created = await deps.createItems({
      actor,
      history_id: req.history_id,
      items: found.map((f) => ({
        name: f.key,
        ...(fileType ? { file_type: fileType } : {}),
        ...(dbkey ? { dbkey } : {}),
        source_uri: `${authz.provider}://${req.bucket}/${f.key}`,
      })),
    });
    const jobs: JobDoc[] = [];
    const t = deps.now();
    for (const [i, f] of found.entries()) {
      const { item, store_key } = created[i]!;
      const id = deps.newId();
      jobs.push({
        _id: id, dedupe_key: JSON.stringify(["get", item.id]), idempotency_key: id, user_id: actor.user_id, history_id: req.history_id,
        dataset_id: item.id!, hid: item.hid ?? 0, dataset_name: f.key, store_key, authz_id: req.authz_id, provider: authz.provider,
        bucket: req.bucket, planned_key: f.key, object_key: f.key, overwrite_policy: "overwrite", storage_class: null, metadata: {},
        state: "queued", outcome: null, bytes_total: f.size, bytes_done: 0, checksum: { sha256: "", md5: "" }, attempts: 0, retries: 0,
        error: null, upload: null, worker: null, create_time: t, update_time: t, direction: "get", ...(authz.grant ? { grant: authz.grant } : {}),
        ...(actor.request_id ? { request_id: actor.request_id } : {}),
        get: { etag: f.etag, space_to_tab: flag(args.space_to_tab), to_posix_lines: flag(args.to_posix_lines), file_type: fileType },
      });
    }
    try {
      // One batch insert (a get of 1000 objects is not 1000 writes through FerretDB's lock), then the work messages.
      const stored = await deps.jobs.insertManyOrFind(jobs);
      await pMap(stored, ({ doc }) => deps.enqueue(doc, doc._id), { concurrency: deps.limits.headConcurrency });
    } catch (err) {
      // No half-created state behind an error answer: the items and jobs made so far end in error.
      await Promise.allSettled(jobs.map(async (job) => {
        await deps.failItem(actor, job.dataset_id, "The get could not be queued.");
        await deps.jobs.fail(job._id, { code: "XFER_GET_NOT_QUEUED", message: "The get could not be queued." });
      }));
      throw err;
    }
    return {
      items: jobs.map((job, i) => ({ ...created[i]!.item, job_id: job._id, object: job.object_key })),
      failed,
      bucket_name: req.bucket,
    };
  };
}

/** Every object under `prefix` (directory markers excluded), refusing past the count and byte caps. */
async function expandPrefix(store: ObjectStore, bucket: string, prefix: string, already: Found[], limits: GetPlannerDeps["limits"]): Promise<Found[]> {
  const seen = new Set(already.map((f) => f.key));
  const out: Found[] = [];
  let bytes = already.reduce((n, f) => n + f.size, 0);
  let cursor: string | undefined;
  do {
    const page = await store.list(bucket, { prefix, limit: 1000, ...(cursor ? { cursor } : {}) }).catch((err: unknown) => Promise.reject(bucketError(bucket, err)));
    for (const o of page.objects) {
      if (seen.has(o.key) || (o.key.endsWith("/") && o.size === 0)) continue;
      seen.add(o.key);
      out.push({ key: o.key, size: o.size, etag: o.etag });
      bytes += o.size;
      if (already.length + out.length > limits.maxObjects) throw prefixTooLarge(`more than ${limits.maxObjects} objects`);
      if (bytes > limits.maxBytes) throw prefixTooLarge(`more than ${limits.maxBytes} bytes`);
    }
    cursor = page.cursor;
  } while (cursor);
  return out;
}
