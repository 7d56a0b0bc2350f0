import { type Db, isDuplicateKeyError } from "@skyferry/db";
import type { Collection, Filter, IndexDescription } from "mongodb";
import type { JobDoc } from "./job-doc.ts";
import type { CompletedPartRecord, JobState } from "./types.ts";

interface PartDoc extends CompletedPartRecord {
  _id: string;
  job_id: string;
  upload_id: string;
}

export const JOBS_COLLECTION = "transfer_jobs";
/** One document per stored part: parts finish concurrently, and FerretDB v1 loses concurrent updates of one document. */
export const PARTS_COLLECTION = "transfer_parts";
/** One document per cancelled job: an insert is atomic on FerretDB, an update racing a worker's update is not. */
export const CANCELS_COLLECTION = "transfer_cancels";
const ACTIVE: JobState[] = ["new", "queued", "running"];

/**
 * Transfer jobs in MongoDB. FerretDB v1 applies concurrent updates of one document as
 * read-modify-write and loses some (measured: 50 concurrent $inc → 7), so a job document has one
 * writer at a time: the planner creates it, then only the worker running it writes it (serially),
 * and cancel/retry write it only when no worker runs it. Parts and cancel marks are separate
 * insert-only documents.
 */
export interface JobRepository {
  ensureIndexes(): Promise<void>;
  /** Inserts the job, or returns the one already stored under its dedupe key. */
  insertOrFind(doc: JobDoc): Promise<{ doc: JobDoc; created: boolean }>;
  get(id: string): Promise<JobDoc | null>;
  /** The job only when `userId` owns it. */
  getOwned(id: string, userId: string): Promise<JobDoc | null>;
  list(userId: string, filter: { history_id?: string; state?: JobState; limit?: number; offset?: number }): Promise<JobDoc[]>;
  /** Marks an unfinished job running on `worker` and counts the attempt; null when it is finished or gone. */
  claim(id: string, worker: string): Promise<JobDoc | null>;
  uploadStarted(id: string, key: string, uploadId: string): Promise<void>;
  partDone(id: string, uploadId: string, part: CompletedPartRecord): Promise<void>;
  /** The recorded parts of an upload, by part number. */
  parts(id: string, uploadId: string): Promise<CompletedPartRecord[]>;
  /** Records that the owner cancelled the job (idempotent). */
  markCancelled(id: string): Promise<void>;
  isCancelled(id: string): Promise<boolean>;
  /** Unfinished → deleted (the worker or, when none runs the job, the cancel handler). */
  setDeleted(id: string): Promise<JobDoc | null>;
  clearUpload(id: string): Promise<void>;
  progress(id: string, bytesDone: number): Promise<void>;
  /** Running → ok; null when the job was cancelled meanwhile. */
  complete(id: string, fields: { object_key: string; outcome: "uploaded" | "skipped"; bytes_done: number }): Promise<JobDoc | null>;
  /** Unfinished → error. */
  fail(id: string, error: NonNullable<JobDoc["error"]>): Promise<JobDoc | null>;
  /** Running → queued (a transient failure; it will be redelivered). */
  requeue(id: string, error: NonNullable<JobDoc["error"]>): Promise<void>;
  /** Error → queued, with the upload state and error cleared. */
  retry(id: string, userId: string): Promise<JobDoc | null>;
}

export function createJobRepository(db: Db, now: () => Date = () => new Date()): JobRepository {
  const jobs: Collection<JobDoc> = db.collection<JobDoc>(JOBS_COLLECTION);
  const parts = db.collection<PartDoc>(PARTS_COLLECTION);
  const cancels = db.collection<{ _id: string; time: Date }>(CANCELS_COLLECTION);
  const update = async (filter: Filter<JobDoc>, set: Partial<JobDoc>, extra: Record<string, unknown> = {}) =>
    jobs.findOneAndUpdate(filter, { $set: { ...set, update_time: now() }, ...extra }, { returnDocument: "after" });
  return {
    async ensureIndexes() {
      await ensureMissingIndexes(db, {
        [JOBS_COLLECTION]: [
          { key: { dedupe_key: 1 }, name: "dedupe_key_unique", unique: true },
          { key: { user_id: 1, create_time: -1 }, name: "user_created" },
          { key: { user_id: 1, history_id: 1 }, name: "user_history" },
        ],
        [PARTS_COLLECTION]: [{ key: { job_id: 1, upload_id: 1 }, name: "job_upload" }],
      });
    },
    async insertOrFind(doc) {
      try {
        await jobs.insertOne(doc);
        return { doc, created: true };
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
        const existing = await jobs.findOne({ dedupe_key: doc.dedupe_key });
        if (!existing) throw err;
        return { doc: existing, created: false };
      }
    },
    get: (id) => jobs.findOne({ _id: id }),
    getOwned: (id, userId) => jobs.findOne({ _id: id, user_id: userId }),
    async list(userId, f) {
      const filter: Filter<JobDoc> = { user_id: userId };
      if (f.history_id) filter.history_id = f.history_id;
      if (f.state) filter.state = f.state;
      return jobs.find(filter).sort({ create_time: -1, _id: 1 }).skip(f.offset ?? 0).limit(f.limit ?? 100).toArray();
    },
    claim: (id, worker) => update({ _id: id, state: { $in: ACTIVE } }, { state: "running", worker }, { $inc: { attempts: 1 } }),
    async uploadStarted(id, key, uploadId) {
      await jobs.updateOne({ _id: id }, { $set: { upload: { key, upload_id: uploadId }, object_key: key, update_time: now() } });
    },
    async partDone(id, uploadId, part) {
      const doc = { job_id: id, upload_id: uploadId, number: part.number, etag: part.etag, size: part.size };
      await parts.replaceOne({ _id: `${id}:${uploadId}:${part.number}` }, doc, { upsert: true });
    },
    async parts(id, uploadId) {
      const found = await parts.find({ job_id: id, upload_id: uploadId }).toArray();
      return found.map((p) => ({ number: p.number, etag: p.etag, size: p.size })).sort((a, b) => a.number - b.number);
    },
    async markCancelled(id) {
      try {
        await cancels.insertOne({ _id: id, time: now() });
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
      }
    },
    isCancelled: async (id) => (await cancels.countDocuments({ _id: id }, { limit: 1 })) > 0,
    setDeleted: (id) => update({ _id: id, state: { $in: ACTIVE } }, { state: "deleted", worker: null, upload: null }),
    async clearUpload(id) {
      await jobs.updateOne({ _id: id }, { $set: { upload: null, bytes_done: 0, update_time: now() } });
    },
    async progress(id, bytesDone) {
      await jobs.updateOne({ _id: id, state: "running" }, { $set: { bytes_done: bytesDone, update_time: now() } });
    },
    complete: (id, f) => update({ _id: id, state: "running" }, { state: "ok", ...f, error: null, upload: null, worker: null }),
    fail: (id, error) => update({ _id: id, state: { $in: ACTIVE } }, { state: "error", error, upload: null, worker: null }),
    async requeue(id, error) {
      await jobs.updateOne({ _id: id, state: "running" }, { $set: { state: "queued", error, worker: null, update_time: now() } });
    },
    retry: (id, userId) =>
      update({ _id: id, user_id: userId, state: "error" }, { state: "queued", error: null, upload: null, bytes_done: 0, outcome: null }, { $inc: { retries: 1 } }),
  };
}

/**
 * Creates only the indexes that do not exist yet: FerretDB v1 closes the connection when
 * createIndexes names an index that already exists (seen on the second start of a service).
 */
async function ensureMissingIndexes(db: Db, specs: Record<string, IndexDescription[]>): Promise<void> {
  for (const [name, indexes] of Object.entries(specs)) {
    const existing = new Set(
      await db.collection(name).listIndexes().toArray().then(
        (list) => list.map((i) => String(i.name)),
        () => [] as string[],
      ),
    );
    const missing = indexes.filter((i) => !existing.has(String(i.name)));
    if (missing.length > 0) await db.collection(name).createIndexes(missing);
  }
}
