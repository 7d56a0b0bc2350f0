import { randomBytes } from "node:crypto";
import { type Db, isDuplicateKeyError } from "@skyferry/db";
import { type Collection, type Filter, type IndexDescription, MongoBulkWriteError } from "mongodb";
import { createBatcher } from "./batcher.ts";
import { retryBusy } from "./busy-retry.ts";
import { ACTIVE_STATES, isActive, type JobDoc } from "./job-doc.ts";
import type { CompletedPartRecord, JobState } from "./types.ts";

interface PartDoc extends CompletedPartRecord {
  _id: string;
  job_id: string;
  upload_id: string;
}

export const JOBS_COLLECTION = "transfer_jobs";
/** One document per stored part: parts finish concurrently, and FerretDB v1 loses concurrent updates of one document. */
export const PARTS_COLLECTION = "transfer_parts";
/**
 * One document per job completed `ok`, inserted by the worker: the final state of a small job is
 * one insert (~1 ms on FerretDB) instead of an update of the indexed job document (20-30 ms under
 * load, holding SQLite's write lock). Reads merge it over the job document; `ok` is final, so the
 * job document itself is never written again for that job.
 */
export const OUTCOMES_COLLECTION = "transfer_outcomes";
/** `completed_by` tells a worker's own insert (tried again after "database is locked") from another's. */
type OutcomeDoc = { _id: string; completed_by?: string } & Partial<Omit<JobDoc, "_id">>;
/** One document per cancelled job: an insert is atomic on FerretDB, an update racing a worker's update is not. */
export const CANCELS_COLLECTION = "transfer_cancels";
/**
 * One document per job whose first attempt was marked `running` without a claim (a one-PUT upload
 * or a download lasting a few progress intervals): an insert instead of an update of the indexed
 * job document (measured on the stack: 100 updates by `_id` of a 1,100-job collection cost
 * FerretDB 1.8 CPU-seconds, 100 inserts 0.01). Reads merge it over a job document that is still
 * `queued` for its first attempt (attempts 0, no error); any later write of the job document
 * (attempts counted, an error, a final state) supersedes it.
 */
export const STARTS_COLLECTION = "transfer_starts";
type StartDoc = { _id: string; worker: string; attempts: number; update_time: Date };
const startApplies = (doc: JobDoc) => doc.state === "queued" && doc.attempts === 0 && doc.error === null;
const INSERT_BATCH = 250;
const MAX_IN_FLIGHT = 8;

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
  /**
   * `insertOrFind` for many jobs in a few unordered batch inserts (a send of 1000 datasets is not
   * 1000 round trips through FerretDB's write lock); results in the order given.
   */
  insertManyOrFind(docs: JobDoc[]): Promise<Array<{ doc: JobDoc; created: boolean }>>;
  get(id: string): Promise<JobDoc | null>;
  /** The job only when `userId` owns it. */
  getOwned(id: string, userId: string): Promise<JobDoc | null>;
  list(userId: string, filter: { history_id?: string; state?: JobState; limit?: number; offset?: number }): Promise<JobDoc[]>;
  /** Marks an unfinished job running on `worker` and counts the attempt; null when it is finished or gone. */
  claim(id: string, worker: string): Promise<JobDoc | null>;
  /**
   * Records that `worker` runs the job, as its `attempts`-th attempt: for the first attempt an
   * insert into `transfer_starts` (merged on reads), for a later one a write of the job by `_id`.
   * For a job whose claim was deferred: a one-PUT upload or a small download is read, run and
   * completed without writing `running` unless it lasts longer than RECORD_EVERY progress intervals.
   */
  markRunning(id: string, worker: string, attempts: number): Promise<void>;
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
  /**
   * Unfinished → ok (with the attempt count when given); null when the job was cancelled or
   * completed meanwhile. A worker passes the `job` it runs to save the read: the cancel mark it
   * checked just before is what guards a cancel then (a job set `deleted` stays deleted).
   */
  complete(id: string, fields: { object_key: string; outcome: "uploaded" | "skipped" | "downloaded"; bytes_done: number; attempts?: number; checksum?: JobDoc["checksum"] }, job?: JobDoc): Promise<JobDoc | null>;
  /** Unfinished → error. */
  fail(id: string, error: NonNullable<JobDoc["error"]>, attempts?: number): Promise<JobDoc | null>;
  /** Unfinished → queued (a transient failure; it will be redelivered). */
  requeue(id: string, error: NonNullable<JobDoc["error"]>, attempts?: number): Promise<void>;
  /** Error → queued, with the upload state and error cleared. */
  retry(id: string, userId: string): Promise<JobDoc | null>;
}

/**
 * How long a cancel check or a completion waits for others to share its MongoDB operation. A
 * worker finishing 150 small jobs a second completes one every ~7 ms, so batches of one turn of
 * the event loop held one or two; 10 ms holds several, for 10 ms more per check. Measured with
 * `npm run bench:send` (see the transfer README).
 */
const BATCH_WINDOW_MS = 10;

export function createJobRepository(db: Db, now: () => Date = () => new Date()): JobRepository {
  const jobs: Collection<JobDoc> = db.collection<JobDoc>(JOBS_COLLECTION);
  const parts = db.collection<PartDoc>(PARTS_COLLECTION);
  const cancels = db.collection<{ _id: string; time: Date }>(CANCELS_COLLECTION);
  const outcomes = db.collection<OutcomeDoc>(OUTCOMES_COLLECTION);
  const starts = db.collection<StartDoc>(STARTS_COLLECTION);
  const withStart = (doc: JobDoc, start: StartDoc | null | undefined): JobDoc =>
    start ? { ...doc, state: "running", worker: start.worker, attempts: start.attempts, update_time: start.update_time } : doc;
  const update = async (filter: Filter<JobDoc>, set: Partial<JobDoc>, extra: Record<string, unknown> = {}) =>
    jobs.findOneAndUpdate(filter, { $set: { ...set, update_time: now() }, ...extra }, { returnDocument: "after" });
  /**
   * The worker's writes: read the job by `_id`, and only while it is unfinished write `set` by
   * `_id` alone. FerretDB v1 (SQLite) serves an `_id`-only filter from its primary key but scans
   * the whole collection, holding the write lock, for any other filter (measured: 1 ms against
   * 40+ ms at 2,000 jobs, growing with the collection). The job has one writer at a time (see
   * above), so the read-then-write is no weaker than FerretDB's own read-modify-write.
   */
  const mergeOne = async (found: JobDoc): Promise<JobDoc> => {
    if (!isActive(found.state)) return found;
    const doc = startApplies(found) ? withStart(found, await starts.findOne({ _id: found._id })) : found;
    const outcome = await outcomes.findOne({ _id: doc._id });
    if (!outcome) return doc;
    const { _id, completed_by: _by, ...fields } = outcome;
    return { ...doc, ...fields };
  };
  const withOutcome = async (doc: JobDoc | null): Promise<JobDoc | null> => (doc ? mergeOne(doc) : null);
  const mergeOutcomes = async (all: JobDoc[]): Promise<JobDoc[]> => {
    const open = all.filter((d) => isActive(d.state)).map((d) => d._id);
    if (open.length === 0) return all;
    const unstarted = all.filter(startApplies).map((d) => d._id);
    const marks = unstarted.length === 0 ? new Map<string, StartDoc>() : new Map((await starts.find({ _id: { $in: unstarted } }).toArray()).map((m) => [m._id, m]));
    const docs = all.map((d) => (startApplies(d) ? withStart(d, marks.get(d._id)) : d));
    const found = new Map((await outcomes.find({ _id: { $in: open } }).toArray()).map((o) => [o._id, o]));
    return docs.map((d) => {
      const o = found.get(d._id);
      if (!o) return d;
      const { _id, completed_by: _by, ...fields } = o;
      return { ...d, ...fields };
    });
  };
  const readThenSet = async (id: string, set: (cur: JobDoc) => Partial<JobDoc>): Promise<JobDoc | null> => {
    const cur = await withOutcome(await jobs.findOne({ _id: id }));
    if (!cur || !isActive(cur.state)) return null;
    const fields = { ...set(cur), update_time: now() };
    await jobs.updateOne({ _id: id }, { $set: fields });
    return { ...cur, ...fields };
  };
  /**
   * Cancel marks of many running jobs in one read. The `$in` filter makes FerretDB scan the
   * collection, which holds only the cancelled jobs (few), unlike `transfer_jobs`.
   */
  const cancelledBatch = createBatcher<string, boolean>(async (ids) => {
    const marked = new Set((await cancels.find({ _id: { $in: [...ids] } }, { projection: { _id: 1 } }).toArray()).map((c) => c._id));
    return ids.map((id) => marked.has(id));
  }, { windowMs: BATCH_WINDOW_MS });
  /** Outcomes of many jobs in one `insertMany`: true = inserted by this call, false = the job was completed already. */
  const outcomeBatch = createBatcher<OutcomeDoc, boolean>(async (docs) => {
    try {
      await outcomes.insertMany([...docs], { ordered: false });
      return docs.map(() => true);
    } catch (err) {
      if (!(err instanceof MongoBulkWriteError)) return docs.map(() => (err instanceof Error ? err : new Error(String(err))));
      const errors = new Map((Array.isArray(err.writeErrors) ? err.writeErrors : [err.writeErrors]).map((e) => [e.index, e]));
      return Promise.all(
        docs.map(async (doc, i) => {
          const e = errors.get(i);
          if (!e) return true;
          if (e.code !== 11000) return new Error(e.errmsg ?? `outcome of job ${doc._id} not stored`);
          // A duplicate: this worker's own insert from an earlier try, or another completion.
          const stored = await outcomes.findOne({ _id: doc._id }, { projection: { completed_by: 1 } });
          return stored?.completed_by === doc.completed_by;
        }),
      );
    }
  }, { windowMs: BATCH_WINDOW_MS });
  return withBusyRetry({
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
        return { doc: await mergeOne(existing), created: false };
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
        for (const [j, doc] of batch.entries()) {
          if (!taken.has(j)) {
            out.push({ doc, created: true });
            continue;
          }
          const existing = await jobs.findOne({ dedupe_key: doc.dedupe_key });
          if (!existing) throw new Error(`job ${doc._id}: duplicate key but no job with its dedupe key`);
          out.push({ doc: await mergeOne(existing), created: false });
        }
      }
      return out;
    },
    get: async (id) => withOutcome(await jobs.findOne({ _id: id })),
    async getOwned(id, userId) {
      const doc = await withOutcome(await jobs.findOne({ _id: id }));
      return doc?.user_id === userId ? doc : null;
    },
    async list(userId, f) {
      const filter: Filter<JobDoc> = { user_id: userId };
      if (f.history_id) filter.history_id = f.history_id;
      const sort = { create_time: -1, _id: 1 } as const;
      const [offset, limit] = [f.offset ?? 0, f.limit ?? 100];
      // `error` and `deleted` live in the job document; `ok` may be an outcome over an unfinished one.
      if (!f.state || f.state === "error" || f.state === "deleted") {
        if (f.state) filter.state = f.state;
        return mergeOutcomes(await jobs.find(filter).sort(sort).skip(offset).limit(limit).toArray());
      }
      // `ok` may be an outcome over any unfinished job, `running` a start mark over a queued one.
      filter.state = { $in: f.state === "ok" ? ["ok", ...ACTIVE_STATES] : f.state === "running" ? ["running", "queued"] : [f.state] };
      const merged = await mergeOutcomes(await jobs.find(filter).sort(sort).toArray());
      return merged.filter((d) => d.state === f.state).slice(offset, offset + limit);
    },
    claim: (id, worker) => readThenSet(id, (cur) => ({ state: "running", worker, attempts: cur.attempts + 1 })),
    async markRunning(id, worker, attempts) {
      if (attempts !== 1) {
        await jobs.updateOne({ _id: id }, { $set: { state: "running", worker, attempts, update_time: now() } });
        return;
      }
      try {
        await starts.insertOne({ _id: id, worker, attempts, update_time: now() });
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err; // marked already (this attempt, tried again)
      }
    },
    async uploadStarted(id, key, uploadId) {
      await jobs.updateOne({ _id: id }, { $set: { upload: { key, upload_id: uploadId }, object_key: key, update_time: now() } });
    },
    async partDone(id, uploadId, part) {
      const doc = { job_id: id, upload_id: uploadId, number: part.number, etag: part.etag, size: part.size };
      const _id = `${id}:${uploadId}:${part.number}`;
      // An insert (~1 ms) while a part slot waits; only a part sent again (after a resume) replaces.
      try {
        await parts.insertOne({ _id, ...doc });
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
        await parts.replaceOne({ _id }, doc);
      }
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
    isCancelled: (id) => retryBusy(() => cancelledBatch(id)),
    setDeleted: (id) => readThenSet(id, () => ({ state: "deleted", worker: null, upload: null })),
    async clearUpload(id) {
      await jobs.updateOne({ _id: id }, { $set: { upload: null, bytes_done: 0, update_time: now() } });
    },
    async progress(id, bytesDone) {
      await jobs.updateOne({ _id: id }, { $set: { bytes_done: bytesDone, update_time: now() } });
    },
    async complete(id, { attempts, ...f }, job) {
      const cur = job ?? (await retryBusy(async () => withOutcome(await jobs.findOne({ _id: id }))));
      if (!cur || !isActive(cur.state)) return null;
      const fields = { state: "ok" as const, ...f, ...(attempts ? { attempts } : {}), error: null, upload: null, worker: null, update_time: now() };
      const completedBy = `${cur.worker ?? "-"}:${attempts ?? cur.attempts}:${randomBytes(6).toString("hex")}`;
      if (!(await retryBusy(() => outcomeBatch({ _id: id, ...fields, completed_by: completedBy })))) return null; // completed already
      return { ...cur, ...fields };
    },
    fail: (id, error, attempts) => readThenSet(id, () => ({ state: "error", error, ...(attempts ? { attempts } : {}), upload: null, worker: null })),
    async requeue(id, error, attempts) {
      await readThenSet(id, () => ({ state: "queued", error, ...(attempts ? { attempts } : {}), worker: null }));
    },
    retry: (id, userId) =>
      update({ _id: id, user_id: userId, state: "error" }, { state: "queued", error: null, upload: null, bytes_done: 0, outcome: null }, { $inc: { retries: 1 } }),
  }, new Set(["isCancelled", "complete"]));
}

/**
 * Every operation of the repository but the `batched` ones, tried again while FerretDB/SQLite
 * answers "database is locked", with at most `MAX_IN_FLIGHT` at once per process: dozens of small jobs finishing
 * together would otherwise contend for SQLite's one write lock and retry in a storm.
 */
function withBusyRetry(repo: JobRepository, batched: ReadonlySet<keyof JobRepository>): JobRepository {
  const gate = createGate(MAX_IN_FLIGHT);
  const wrapped: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(repo) as Array<[keyof JobRepository, (...args: unknown[]) => Promise<unknown>]>) {
    // Batched operations are one MongoDB operation per batch already, and retry on their own.
    wrapped[name] = batched.has(name) ? fn : (...args: unknown[]) => gate(() => retryBusy(() => fn(...args)));
  }
  return wrapped as unknown as JobRepository;
}

function createGate(limit: number) {
  let active = 0;
  const queue: Array<() => void> = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (active >= limit) await new Promise<void>((r) => queue.push(r));
    else active++;
    try {
      return await fn();
    } finally {
      const next = queue.shift();
      if (next) next();
      else active--;
    }
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
