import type { DatasetState } from "@skyferry/contracts";
import { type Collection, type Db, findIn, isDuplicateKeyError, isFerretDB } from "@skyferry/db";
import type { Filter, IndexDescription } from "mongodb";
import { hidContention } from "../errors.ts";

/** A history dataset association (HDA) as stored. */
export interface DatasetDoc {
  _id: string;
  /** Galaxy's separate Dataset id (the bytes); shown as `dataset_id`. */
  dataset_id: string;
  history_id: string;
  user_id: string;
  hid: number;
  name: string;
  extension: string;
  state: DatasetState;
  deleted: boolean;
  purged: boolean;
  visible: boolean;
  tags: string[];
  annotation: string | null;
  genome_build: string | null;
  misc_info: string | null;
  misc_blurb: string | null;
  peek: string | null;
  file_size: number;
  sha256: string | null;
  md5: string | null;
  /** Key in the dataset store; bytes exist there only while state is ok and not purged. */
  store_key: string;
  uuid: string;
  created_from_basename: string | null;
  source_uri: string | null;
  /** Created by `history.imports.create` (get from cloud): only such items may be started, finished or failed by an import. */
  imported?: boolean;
  /** `hidBlock(hid)`: the hid's block of HID_BLOCK, which a page of the history's contents reads (`listOfHistory`). */
  hid_block?: number;
  create_time: Date;
  update_time: Date;
}

/**
 * Contents pages read the history a block of hids at a time: FerretDB 1.x sorts in its own
 * process after decoding every document that matches, so "the first 100 items of a 10,000-item
 * history by hid" decodes 10,000 documents (3.2 s measured); `{history_id, hid_block}` is an
 * equality it serves from an index, 100 documents a query.
 */
export const HID_BLOCK = 100;
export const hidBlock = (hid: number): number => Math.floor((hid - 1) / HID_BLOCK);

/** The fields of a dataset that a send reads. */
const SENDABLE_FIELDS = ["_id", "dataset_id", "hid", "name", "extension", "state", "deleted", "purged", "file_size", "sha256", "md5", "store_key"] as const;
export type SendableDoc = Pick<DatasetDoc, (typeof SENDABLE_FIELDS)[number]>;

/** One document per history: the last hid given out (`allocateHids`). */
export const HID_COUNTERS = "history_hids";

export const DATASET_INDEXES: IndexDescription[] = [
  // A history's contents in hid order; unique: no two items of a history ever share a hid.
  { key: { history_id: 1, hid: 1 }, name: "history_hid", unique: true },
  { key: { user_id: 1 }, name: "user" },
  { key: { history_id: 1, hid_block: 1 }, name: "history_hid_block" },
];

/** Datasets in MongoDB; reads are scoped to the owner. */
export function createDatasetRepository(db: Db) {
  const col: Collection<DatasetDoc> = db.collection<DatasetDoc>("datasets");
  const hids = db.collection<{ _id: string; last: number }>(HID_COUNTERS);
  /**
   * `count` new consecutive hids of the history: one atomic `$inc` of its counter (collection
   * `history_hids`), so concurrent uploads never take the same one. A history older than its
   * counter has it set past its highest hid first (one sorted read, once per history).
   */
  const incrementHids = async (historyId: string, count: number): Promise<number> => {
    for (let attempt = 0; attempt < 5; attempt++) {
      const seeded = await hids.findOne({ _id: historyId });
      if (!seeded) {
        const last = await col.find({ history_id: historyId }, { projection: { hid: 1 } }).sort({ hid: -1 }).limit(1).next();
        try {
          await hids.insertOne({ _id: historyId, last: last?.hid ?? 0 });
        } catch (err) {
          if (!isDuplicateKeyError(err)) throw err; // seeded by a concurrent upload meanwhile
        }
      }
      const after = await hids.findOneAndUpdate({ _id: historyId }, { $inc: { last: count } }, { returnDocument: "after" });
      if (after) return after.last - count + 1;
    }
    throw hidContention();
  };
  /**
   * Allocations for one history asked for at the same time in this process (a request uploading
   * 100 files) are one `$inc` of their sum, shared out in call order: concurrent writers of one
   * counter would otherwise retry each other's conflicts, a round each.
   */
  const pending = new Map<string, Array<{ count: number; resolve: (first: number) => void; reject: (err: unknown) => void }>>();
  const flushing = new Map<string, Promise<void>>();
  const flush = async (historyId: string): Promise<void> => {
    const batch = pending.get(historyId) ?? [];
    pending.delete(historyId);
    try {
      let next = await incrementHids(historyId, batch.reduce((n, r) => n + r.count, 0));
      for (const r of batch) {
        r.resolve(next);
        next += r.count;
      }
    } catch (err) {
      for (const r of batch) r.reject(err);
    }
  };
  const allocateHids = (historyId: string, count: number): Promise<number> =>
    new Promise((resolve, reject) => {
      const queue = pending.get(historyId);
      if (queue) return void queue.push({ count, resolve, reject });
      pending.set(historyId, [{ count, resolve, reject }]);
      // One allocation in flight per history: the next gathers whatever came meanwhile.
      const before = flushing.get(historyId) ?? Promise.resolve();
      const run = before.then(() => new Promise<void>((r) => setImmediate(r))).then(() => flush(historyId));
      flushing.set(historyId, run);
      void run.finally(() => {
        if (flushing.get(historyId) === run) flushing.delete(historyId);
      });
    });

  return {
    collection: col,
    allocateHids,
    /** Inserts `doc` with the next hid of its history. */
    async insertWithNextHid(doc: Omit<DatasetDoc, "hid">): Promise<DatasetDoc> {
      const hid = await allocateHids(doc.history_id, 1);
      const full: DatasetDoc = { ...doc, hid, hid_block: hidBlock(hid) };
      await col.insertOne(full);
      return full;
    },
    findOwned: (userId: string, id: string) => col.findOne({ _id: id, user_id: userId }),
    /**
     * The history's items matching `filter` in hid order, or a page of them. On MongoDB one sorted
     * query its `(history_id, hid)` index serves; on FerretDB a page walks the hid blocks in order
     * (see HID_BLOCK): the first pages cost a block or two whatever the history's size. (Items
     * written before `hid_block` existed are not in those pages: the embedded FerretDB's data is
     * made afresh by every `scripts/stack.sh up`, and MongoDB takes the sorted query.)
     */
    async listOfHistory(historyId: string, filter: Filter<DatasetDoc> = {}, page?: { limit: number; offset: number }): Promise<DatasetDoc[]> {
      const last = page && isFerretDB(col) ? (await hids.findOne({ _id: historyId }))?.last : undefined;
      if (!page || last === undefined) {
        const cursor = col.find({ ...filter, history_id: historyId }).sort({ hid: 1 });
        return (page ? cursor.skip(page.offset).limit(page.limit) : cursor).toArray();
      }
      const out: DatasetDoc[] = [];
      let skip = page.offset;
      for (let block = 0; block <= hidBlock(Math.max(1, last)) && out.length < page.limit; block++) {
        const docs = (await col.find({ ...filter, history_id: historyId, hid_block: block }).toArray()).sort((a, b) => a.hid - b.hid);
        if (skip >= docs.length) {
          skip -= docs.length;
          continue;
        }
        out.push(...docs.slice(skip, skip + page.limit - out.length));
        skip = 0;
      }
      return out;
    },
    /**
     * A history's datasets matching `filter`, unsorted, `batch` per round trip, with only the
     * fields a send reads: the first come while the database is still reading the rest.
     */
    streamOfHistory: (historyId: string, filter: Filter<DatasetDoc>, batch: number) =>
      col.find({ ...filter, history_id: historyId }, { projection: Object.fromEntries(SENDABLE_FIELDS.map((f) => [f, 1])), batchSize: batch }) as unknown as AsyncIterable<SendableDoc>,
    /** id, state, size per history (for history counts and states), one query. */
    statsOf: (historyIds: string[]) =>
      findIn(col, "history_id", historyIds, {}, { projection: { _id: 1, history_id: 1, state: 1, deleted: 1, purged: 1, file_size: 1, hid: 1 } }),
    async set(id: string, fields: Partial<DatasetDoc>, now: Date): Promise<DatasetDoc | null> {
      return col.findOneAndUpdate({ _id: id }, { $set: { ...fields, update_time: now } }, { returnDocument: "after" });
    },
    /** Moves a dataset to `to` only if it is still in one of `from` (a late writer cannot undo a purge). */
    async transition(id: string, from: DatasetState[], fields: Partial<DatasetDoc> & { state: DatasetState }, now: Date): Promise<DatasetDoc | null> {
      return col.findOneAndUpdate({ _id: id, state: { $in: from }, purged: false }, { $set: { ...fields, update_time: now } }, { returnDocument: "after" });
    },
  };
}
export type DatasetRepository = ReturnType<typeof createDatasetRepository>;
