import type { DatasetState } from "@skyferry/contracts";
import { type Collection, type Db, isDuplicateKeyError } from "@skyferry/db";
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

export const DATASET_INDEXES: IndexDescription[] = [
  // The guard that makes hid allocation safe on FerretDB, which loses concurrent $inc updates.
  { key: { history_id: 1, hid: 1 }, name: "history_hid", unique: true },
  { key: { user_id: 1 }, name: "user" },
];

/** Datasets in MongoDB; reads are scoped to the owner. */
export function createDatasetRepository(db: Db) {
  const col: Collection<DatasetDoc> = db.collection<DatasetDoc>("datasets");

  return {
    collection: col,
    /**
     * Inserts `doc` with the next hid of its history: max(hid) + 1, retried on the unique
     * (history_id, hid) index when a concurrent upload took it. hids are never reused because
     * dataset documents are never removed (a purge keeps the record).
     */
    async insertWithNextHid(doc: Omit<DatasetDoc, "hid">): Promise<DatasetDoc> {
      for (let attempt = 0; attempt < 60; attempt++) {
        const last = await col.find({ history_id: doc.history_id }, { projection: { hid: 1 } }).sort({ hid: -1 }).limit(1).next();
        const full: DatasetDoc = { ...doc, hid: (last?.hid ?? 0) + 1 };
        try {
          await col.insertOne(full);
          return full;
        } catch (err) {
          if (!isDuplicateKeyError(err)) throw err;
          await new Promise((r) => setTimeout(r, Math.random() * Math.min(5 * (attempt + 1), 100)));
        }
      }
      throw hidContention();
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
      col
        .find({ history_id: { $in: historyIds } }, { projection: { _id: 1, history_id: 1, state: 1, deleted: 1, purged: 1, file_size: 1, hid: 1 } })
        .toArray(),
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
