// The job runner's unit-test world: a job document, fake repositories and store, and a runner over them.
import { createHash } from "node:crypto";
import type { WorkContext } from "@skyferry/bus";
import { createLogger } from "@skyferry/logger";
import type { ObjectStore } from "@skyferry/storage";
import type { BufferPool } from "../src/worker/buffer-pool.ts";
import type { JobDoc } from "../src/jobs/job-doc.ts";
import { createJobRunner } from "../src/worker/run-job.ts";
import type { UploadSettings } from "../src/worker/upload.ts";
import { fakeDatasets, fakeJobs } from "./fakes.ts";

export const body = Buffer.from("chr1\t1\t100\n".repeat(100));
export const sha = createHash("sha256").update(body).digest("hex");
export const md5 = createHash("md5").update(body).digest("hex");
export const NOW = new Date("2026-03-04T05:06:07Z");

export function job(over: Partial<JobDoc> = {}): JobDoc {
  return {
    _id: "1111111111111111", dedupe_key: "d", idempotency_key: "i", user_id: "aaaaaaaaaaaaaaaa", history_id: "bbbbbbbbbbbbbbbb",
    dataset_id: "dddddddddddddddd", hid: 1, dataset_name: "rep1.bed", store_key: "k", authz_id: "cccccccccccccccc", provider: "s3",
    bucket: "b", planned_key: "rep1.bed", object_key: "rep1.bed", overwrite_policy: "rename", storage_class: null, metadata: {},
    state: "queued", outcome: null, bytes_total: body.length, bytes_done: 0, checksum: { sha256: sha, md5 }, attempts: 0, retries: 0,
    error: null, upload: null, worker: null, create_time: NOW, update_time: NOW, ...over,
  };
}

export function setup(
  store: ObjectStore,
  doc = job(),
  blobs: Record<string, Buffer> = { k: body },
  options: { positional?: boolean; wholeReads?: BufferPool; datasetOwned?: (j: JobDoc) => Promise<boolean>; now?: () => Date; upload?: Partial<UploadSettings> } = {},
) {
  const jobs = fakeJobs();
  jobs.docs.set(doc._id, doc);
  const events: string[] = [];
  const running = new Map<string, AbortController>();
  const run = createJobRunner({
    jobs, datasets: fakeDatasets(blobs, { positional: options.positional ?? false }), openStore: async () => store, running, instance: "w1",
    datasetOwned: options.datasetOwned ?? (async () => true),
    events: { progress: () => events.push("progress"), completed: (j) => events.push(`completed:${j.object_key}`), failed: (j) => events.push(`failed:${j.state}`) },
    upload: { partSize: 8 << 20, partConcurrency: 2, singlePutMax: 16 << 20, now: () => NOW, maxRenames: 5, ...(options.wholeReads ? { wholeReads: options.wholeReads } : {}), ...options.upload },
    logger: createLogger({ name: "t", level: "silent" }), progressIntervalMs: 500,
    patience: { patienceMs: 15 * 60_000, maxDelayMs: 60_000, now: options.now ?? (() => new Date()) }, heartbeatMs: 30_000, staleMs: 300_000,
  });
  const ctx = (over: Partial<WorkContext> = {}): WorkContext => ({ deliveryCount: 1, lastAttempt: false, messageId: doc._id, subject: "s", signal: new AbortController().signal, ...over });
  return { run: () => run({ job_id: doc._id }, ctx()), runWith: (c: Partial<WorkContext>) => run({ job_id: doc._id }, ctx(c)), jobs, events, running, doc: () => jobs.docs.get(doc._id)! };
}

