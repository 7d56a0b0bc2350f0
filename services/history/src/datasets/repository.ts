import type { DatasetState } from "@skyferry/contracts";
import { type Collection, type Db, findIn, isDuplicateKeyError } from "@skyferry/db";
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
  create_time: Date;
  update_time: Date;
}

/** The fields of a dataset that a send reads. */
const SENDABLE_FIELDS = ["_id", "dataset_id", "hid", "name", "extension", "state", "deleted", "purged", "file_size", "sha256", "md5", "store_key"] as const;
export type SendableDoc = Pick<DatasetDoc, (typeof SENDABLE_FIELDS)[number]>;

/** One document per history: the last hid given out (`allocateHids`). */
export const HID_COUNTERS = "history_hids";

export const DATASET_INDEXES: IndexDescription[] = [
  // A history's contents in hid order; unique: no two items of a history ever share a hid.
  { key: { history_id: 1, hid: 1 }, name: "history_hid", unique: true },
  { key: { user_id: 1 }, name: "user" },
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
  const allocateHids = async (historyId: string, count: number): Promise<number> => {
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

  return {
    collection: col,
    allocateHids,
    /** Inserts `doc` with the next hid of its history. */
    async insertWithNextHid(doc: Omit<DatasetDoc, "hid">): Promise<DatasetDoc> {
      const full: DatasetDoc = { ...doc, hid: await allocateHids(doc.history_id, 1) };
      await col.insertOne(full);
      return full;
    },
    findOwned: (userId: string, id: string) => col.findOne({ _id: id, user_id: userId }),
    listOfHistory: (historyId: string, filter: Filter<DatasetDoc> = {}, page?: { limit: number; offset: number }) => {
      const cursor = col.find({ ...filter, history_id: historyId }).sort({ hid: 1 });
      return (page ? cursor.skip(page.offset).limit(page.limit) : cursor).toArray();
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
