import { type Db, ensureIndexes as ensureDeclaredIndexes, isDuplicateKeyError } from "@skyferry/db";
import { type Collection, type Filter, type IndexDescription, MongoBulkWriteError } from "mongodb";
import { createBatcher } from "./batcher.ts";
import { chainPattern } from "../reliability/work-chain.ts";
import { ACTIVE_STATES, type JobDoc, type UploadIntent } from "./job-doc.ts";
import type { CompletedPartRecord, JobState } from "./types.ts";

interface PartDoc extends CompletedPartRecord {
  _id: string;
  job_id: string;
  upload_id: string;
}

export const JOBS_COLLECTION = "transfer_jobs";
/** One document per stored part of a multipart upload (parts finish concurrently; a resume reads them). */
export const PARTS_COLLECTION = "transfer_parts";
const INSERT_BATCH = 250;

/**
 * Every query this repository makes, by collection, and the index that serves it: the filter's
 * equality fields first, then the sort. `test/db/indexes.test.ts` checks each query shape has one.
 */
export const JOB_INDEXES: Record<string, IndexDescription[]> = {
  [JOBS_COLLECTION]: [
    { key: { dedupe_key: 1 }, name: "dedupe_key_unique", unique: true },
    { key: { user_id: 1, create_time: -1 }, name: "user_created" },
    { key: { user_id: 1, history_id: 1, create_time: -1 }, name: "user_history_created" },
    { key: { user_id: 1, state: 1, create_time: -1 }, name: "user_state_created" },
    { key: { cancel_requested: 1 }, name: "cancel_requested" },
    // The reconciler's sweeps (services/transfer/src/reliability/reconciler.ts).
    { key: { state: 1, heartbeat_at: 1 }, name: "state_heartbeat" },
    { key: { state: 1, update_time: 1 }, name: "state_updated" },
    // Settling upload intents (worker/upload-intents.ts): who records an upload, who intends one on a key.
    { key: { "upload.upload_id": 1 }, name: "upload_id" },
    { key: { "upload_intents.key": 1 }, name: "upload_intent_key" },
  ],
  [PARTS_COLLECTION]: [{ key: { job_id: 1, upload_id: 1 }, name: "job_upload" }],
};

/**
 * Transfer jobs in MongoDB: one document per job, changed only by single-document updates whose
 * filter states the transition (`state` in the active states, the owner, ...), so a late or
 * concurrent writer can never undo a final state. (On the embedded FerretDB these are atomic too:
 * @skyferry/db.) A multipart upload's parts are separate documents, one per part.
 */
export interface JobRepository {
  ensureIndexes(): Promise<void>;
  /** Inserts the job, or returns the one already stored under its dedupe key. */
  insertOrFind(doc: JobDoc): Promise<{ doc: JobDoc; created: boolean }>;
  /** `insertOrFind` for many jobs in a few unordered batch inserts; results in the order given. */
  insertManyOrFind(docs: JobDoc[]): Promise<Array<{ doc: JobDoc; created: boolean }>>;
  get(id: string): Promise<JobDoc | null>;
  /** The job only when `userId` owns it. */
  getOwned(id: string, userId: string): Promise<JobDoc | null>;
  list(userId: string, filter: { history_id?: string; state?: JobState; limit?: number; offset?: number }): Promise<JobDoc[]>;
  /**
   * Marks an unfinished, uncancelled job of `direction` running on `worker` for the delivery of
   * work message `runMsg`, and counts the attempt; the job as it is then, or null when it is
   * finished, cancelled, another direction's or gone -- or running for another message whose
   * worker's heartbeat is fresher than `staleBefore` (a duplicate or re-driven message does not run
   * a job a live worker runs; the same message redelivered after a crash does, and so does a
   * continuation of that message, `<runMsg>.c<t>`: reliability/work-chain.ts).
   */
  claim(id: string, worker: string, direction: "send" | "get", runMsg: string, staleBefore: Date): Promise<JobDoc | null>;
  /**
   * The worker running the job for `runMsg` is alive: false when the job is no longer running for
   * that message (re-driven to another, finished, cancelled), and the worker should stop it.
   */
  heartbeat(id: string, runMsg: string): Promise<boolean>;
  /**
   * Replaces the job's upload intents, only while the job is running for `runMsg` (the claim
   * holder is their one writer); false when it no longer is (the run was superseded or ended).
   */
  setUploadIntents(id: string, runMsg: string, intents: UploadIntent[]): Promise<boolean>;
  /** Records the upload in progress; with `intents`, they replace the job's in the same update (the upload's own intent removed). */
  uploadStarted(id: string, key: string, uploadId: string, intents?: UploadIntent[]): Promise<void>;
  /** Of these provider upload ids, those some job records as its upload in progress. */
  recordedUploads(uploadIds: string[]): Promise<Set<string>>;
  /** Whether a running job other than `exceptId` has an upload intent on `bucket`/`key`. */
  othersIntend(bucket: string, key: string, exceptId: string): Promise<boolean>;
  partDone(id: string, uploadId: string, part: CompletedPartRecord): Promise<void>;
  /** The recorded parts of an upload, by part number. */
  parts(id: string, uploadId: string): Promise<CompletedPartRecord[]>;
  /** Records that the owner cancelled the unfinished job (idempotent). */
  markCancelled(id: string): Promise<void>;
  isCancelled(id: string): Promise<boolean>;
  /** Unfinished → deleted (the worker or, when none runs the job, the cancel handler). */
  setDeleted(id: string): Promise<JobDoc | null>;
  clearUpload(id: string): Promise<void>;
  /** Bytes done so far of a running job (also its heartbeat). */
  progress(id: string, bytesDone: number): Promise<void>;
  /**
   * Unfinished and not cancelled → ok; null when the job was cancelled or finished meanwhile.
   * `attempts` is given for a job run without a claim (a one-PUT upload): the attempt it was.
   */
  complete(id: string, fields: { object_key: string; outcome: "uploaded" | "skipped" | "downloaded"; bytes_done: number; checksum?: JobDoc["checksum"]; attempts?: number }): Promise<JobDoc | null>;
  /** Unfinished → error (with the attempt count, for a job run without a claim). */
  fail(id: string, error: NonNullable<JobDoc["error"]>, attempts?: number): Promise<JobDoc | null>;
  /**
   * Unfinished → queued after a transient failure (it will be redelivered), with the failure as
   * its last error and `transientSince` (the first of its run of transient failures) recorded.
   */
  requeue(id: string, error: NonNullable<JobDoc["error"]>, transientSince: Date, attempts?: number): Promise<void>;
  /**
   * Jobs in `state` whose last sign of life is older than `before` (running: the heartbeat;
   * queued: the last update), at most `limit`.
   */
  stale(state: "queued" | "running", before: Date, limit: number): Promise<JobDoc[]>;
  /** How many jobs are in each unfinished state, deployment-wide (one count per state, each served by an index leading with `state`). */
  countActive(): Promise<Record<string, number>>;
  /**
   * Hands the stale job (still as `seen`) to a new work message: counts the re-drive and gives the
   * claim to message `<id>.d<n>` (its heartbeat fresh, so no other message takes it meanwhile).
   * The job afterwards, or null when it changed since it was seen.
   */
  redrive(seen: JobDoc): Promise<JobDoc | null>;
  /** Error → queued, with the upload state and error cleared. */
  retry(id: string, userId: string): Promise<JobDoc | null>;
}

/**
 * How long a cancel check waits for others to share its query: a worker finishing 150 small jobs
 * a second checks one every ~7 ms, so 10 ms gathers several into one read.
 */
const BATCH_WINDOW_MS = 10;
const active = { $in: [...ACTIVE_STATES] };

export function createJobRepository(db: Db, now: () => Date = () => new Date()): JobRepository {
  const jobs: Collection<JobDoc> = db.collection<JobDoc>(JOBS_COLLECTION);
  const parts = db.collection<PartDoc>(PARTS_COLLECTION);
  /** The transition `filter` → `set` of one job; the job afterwards, or null when the filter did not match. */
  const transition = (filter: Filter<JobDoc>, set: Partial<JobDoc>, extra: Record<string, unknown> = {}) =>
    jobs.findOneAndUpdate(filter, { $set: { ...set, update_time: now() }, ...extra }, { returnDocument: "after" });
  const cancelledBatch = createBatcher<string, boolean>(async (ids) => {
    const marked = new Set((await jobs.find({ cancel_requested: true, _id: { $in: [...ids] } }, { projection: { _id: 1 } }).toArray()).map((c) => c._id));
    return ids.map((id) => marked.has(id));
  }, { windowMs: BATCH_WINDOW_MS });
  const existing = async (doc: JobDoc) => {
    const found = await jobs.findOne({ dedupe_key: doc.dedupe_key });
    if (!found) throw new Error(`job ${doc._id}: duplicate key but no job with its dedupe key`);
    return { doc: found, created: false };
  };
  return {
    async ensureIndexes() {
      await ensureDeclaredIndexes(db, JOB_INDEXES);
    },
    async insertOrFind(doc) {
      try {
        await jobs.insertOne(doc);
        return { doc, created: true };
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
        return existing(doc);
      }
    },
    async insertManyOrFind(docs) {
      const out: Array<{ doc: JobDoc; created: boolean }> = [];
      for (let i = 0; i < docs.length; i += INSERT_BATCH) {
        const batch = docs.slice(i, i + INSERT_BATCH);
        const taken = new Set<number>();
        try {
          await jobs.insertMany(batch, { ordered: false });
        } catch (err) {
          if (!(err instanceof MongoBulkWriteError)) throw err;
          const errors = Array.isArray(err.writeErrors) ? err.writeErrors : [err.writeErrors];
          if (errors.length === 0 || errors.some((e) => e.code !== 11000)) throw err;
          for (const e of errors) taken.add(e.index);
        }
        for (const [j, doc] of batch.entries()) out.push(taken.has(j) ? await existing(doc) : { doc, created: true });
      }
      return out;
    },
    get: (id) => jobs.findOne({ _id: id }),
    getOwned: (id, userId) => jobs.findOne({ _id: id, user_id: userId }),
    list(userId, f) {
      const filter: Filter<JobDoc> = { user_id: userId };
      if (f.history_id) filter.history_id = f.history_id;
      if (f.state) filter.state = f.state;
      return jobs.find(filter).sort({ create_time: -1, _id: 1 }).skip(f.offset ?? 0).limit(f.limit ?? 100).toArray();
    },
    claim: (id, worker, direction, runMsg, staleBefore) =>
      transition(
        {
          _id: id,
          state: active,
          cancel_requested: { $ne: true },
          direction: direction === "get" ? "get" : { $exists: false },
          $or: [{ state: { $ne: "running" } }, { run_msg: chainPattern(runMsg) }, { heartbeat_at: null }, { heartbeat_at: { $lt: staleBefore } }],
        },
        { state: "running", worker, run_msg: runMsg, heartbeat_at: now() },
        { $inc: { attempts: 1 } },
      ),
    async heartbeat(id, runMsg) {
      const r = await jobs.updateOne({ _id: id, state: "running", run_msg: runMsg }, { $set: { heartbeat_at: now() } });
      return r.matchedCount > 0;
    },
    async setUploadIntents(id, runMsg, intents) {
      const r = await jobs.updateOne({ _id: id, state: "running", run_msg: runMsg }, { $set: { upload_intents: intents, update_time: now() } });
      return r.matchedCount > 0;
    },
    async uploadStarted(id, key, uploadId, intents) {
      await jobs.updateOne({ _id: id, state: active }, { $set: { upload: { key, upload_id: uploadId }, object_key: key, ...(intents ? { upload_intents: intents } : {}), update_time: now() } });
    },
    async recordedUploads(uploadIds) {
      if (uploadIds.length === 0) return new Set();
      const found = await jobs.find({ "upload.upload_id": { $in: uploadIds } }, { projection: { upload: 1 } }).toArray();
      return new Set(found.flatMap((j) => (j.upload ? [j.upload.upload_id] : [])));
    },
    async othersIntend(bucket, key, exceptId) {
      return (await jobs.countDocuments({ "upload_intents.key": key, bucket, state: "running", _id: { $ne: exceptId } }, { limit: 1 })) > 0;
    },
    async partDone(id, uploadId, part) {
      const _id = `${id}:${uploadId}:${part.number}`;
      // A part sent again (after a resume) replaces the one recorded.
      await parts.replaceOne({ _id }, { job_id: id, upload_id: uploadId, number: part.number, etag: part.etag, size: part.size }, { upsert: true });
    },
    async parts(id, uploadId) {
      const found = await parts.find({ job_id: id, upload_id: uploadId }).toArray();
      return found.map((p) => ({ number: p.number, etag: p.etag, size: p.size })).sort((a, b) => a.number - b.number);
    },
    async markCancelled(id) {
      await jobs.updateOne({ _id: id, state: active }, { $set: { cancel_requested: true, update_time: now() } });
    },
    isCancelled: (id) => cancelledBatch(id),
    setDeleted: (id) => transition({ _id: id, state: active }, { state: "deleted", worker: null, upload: null }),
    async clearUpload(id) {
      await jobs.updateOne({ _id: id, state: active }, { $set: { upload: null, bytes_done: 0, update_time: now() } });
    },
    async progress(id, bytesDone) {
      const t = now();
      await jobs.updateOne({ _id: id, state: "running" }, { $set: { bytes_done: bytesDone, update_time: t, heartbeat_at: t } });
    },
    complete: (id, { attempts, ...f }) =>
      transition({ _id: id, state: active, cancel_requested: { $ne: true } }, { state: "ok", ...f, ...(attempts ? { attempts } : {}), error: null, upload: null, worker: null, transient_since: null }),
    fail: (id, error, attempts) => transition({ _id: id, state: active }, { state: "error", error, upload: null, worker: null, ...(attempts ? { attempts } : {}) }),
    async requeue(id, error, transientSince, attempts) {
      await jobs.updateOne({ _id: id, state: active }, { $set: { state: "queued", error, worker: null, transient_since: transientSince, ...(attempts ? { attempts } : {}), update_time: now() } });
    },
    stale: (state, before, limit) =>
      jobs.find(state === "running" ? { state, heartbeat_at: { $lt: before } } : { state, update_time: { $lt: before } }).limit(limit).toArray(),
    async countActive() {
      const counts = await Promise.all(ACTIVE_STATES.map(async (state) => [state, await jobs.countDocuments({ state })] as const));
      return Object.fromEntries(counts);
    },
    async redrive(seen) {
      const n = (seen.redrives ?? 0) + 1;
      // The filter is the job as seen: a worker that wrote meanwhile (a heartbeat, its end) wins.
      const filter: Filter<JobDoc> =
        seen.state === "running" ? { _id: seen._id, state: "running", heartbeat_at: seen.heartbeat_at ?? null } : { _id: seen._id, state: seen.state, update_time: seen.update_time };
      return transition(filter, { run_msg: `${seen._id}.d${n}`, heartbeat_at: now(), redrives: n });
    },
    retry: (id, userId) =>
      transition({ _id: id, user_id: userId, state: "error" }, { state: "queued", error: null, upload: null, bytes_done: 0, outcome: null, cancel_requested: false, transient_since: null }, { $inc: { retries: 1 } }),
  };
}
