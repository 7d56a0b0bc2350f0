import type { HistoryChanges } from "@skyferry/contracts";
import type { Collection, Db } from "@skyferry/db";
import type { Filter, IndexDescription, Sort } from "mongodb";

/** A history as stored. */
export interface HistoryDoc {
  _id: string;
  user_id: string;
  name: string;
  annotation: string | null;
  tags: string[];
  genome_build: string | null;
  deleted: boolean;
  purged: boolean;
  published: boolean;
  importable: boolean;
  slug: string | null;
  create_time: Date;
  update_time: Date;
}

export const HISTORY_INDEXES: IndexDescription[] = [
  { key: { user_id: 1, deleted: 1, update_time: -1 }, name: "user_deleted_update" },
  // The list sorted by name (Galaxy's `order=name-asc|name-dsc`).
  { key: { user_id: 1, deleted: 1, name: 1 }, name: "user_deleted_name" },
];

export interface HistoryQuery {
  filter: Filter<HistoryDoc>;
  sort: Sort;
  limit: number;
  offset: number;
}

/** Histories in MongoDB; every read and write is scoped to the owner. */
export function createHistoryRepository(db: Db) {
  const col: Collection<HistoryDoc> = db.collection<HistoryDoc>("histories");
  return {
    collection: col,
    async insert(doc: HistoryDoc): Promise<HistoryDoc> {
      await col.insertOne(doc);
      return doc;
    },
    /** The owner's history, or null (another user's history is reported like a missing one). */
    findOwned: (userId: string, id: string) => col.findOne({ _id: id, user_id: userId }),
    list: (userId: string, q: HistoryQuery) =>
      col.find({ ...q.filter, user_id: userId }).sort(q.sort).skip(q.offset).limit(q.limit).toArray(),
    async update(userId: string, id: string, changes: HistoryChanges & { purged?: boolean }, now: Date): Promise<HistoryDoc | null> {
      return col.findOneAndUpdate({ _id: id, user_id: userId }, { $set: { ...changes, update_time: now } }, { returnDocument: "after" });
    },
    touch: (id: string, now: Date) => col.updateOne({ _id: id }, { $set: { update_time: now } }),
  };
}
export type HistoryRepository = ReturnType<typeof createHistoryRepository>;
