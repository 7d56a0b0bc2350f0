import type { CloudAuthzStatus, CloudProvider } from "@skyferry/contracts";
import type { Db, IndexDescription } from "mongodb";
import type { StoredSecret } from "./secrets.ts";

/** A cloud authorization at rest: secret config fields only sealed, under `secrets`. */
export interface CloudAuthzDoc {
  _id: string;
  user_id: string;
  provider: CloudProvider;
  /** The config's non-secret fields. */
  config: Record<string, unknown>;
  secrets: Record<string, StoredSecret>;
  authn_id: string | null;
  description: string;
  create_time: Date;
  last_update: Date;
  last_activity: Date;
  status: CloudAuthzStatus;
  status_reason: string | null;
}

export const cloudAuthzIndexes: Record<string, IndexDescription[]> = {
  cloud_authz: [
    { key: { user_id: 1, provider: 1 }, name: "user_provider" },
    // A user's authorizations, oldest first (the list).
    { key: { user_id: 1, create_time: 1 }, name: "user_created" },
  ],
};

export type CloudAuthzFields = Pick<CloudAuthzDoc, "provider" | "config" | "secrets" | "authn_id" | "description" | "last_update">;

export interface CloudAuthzRepo {
  insert(doc: CloudAuthzDoc): Promise<void>;
  listByUser(userId: string): Promise<CloudAuthzDoc[]>;
  /** The record if `userId` owns it, else null (another user's record is indistinguishable from none). */
  getOwned(id: string, userId: string): Promise<CloudAuthzDoc | null>;
  /** Replaces the editable fields; the updated record, or null when it is gone. */
  update(id: string, userId: string, fields: CloudAuthzFields): Promise<CloudAuthzDoc | null>;
  deleteOwned(id: string, userId: string): Promise<CloudAuthzDoc | null>;
  /**
   * Records a use. One single-document update; on FerretDB two concurrent uses may each write,
   * and one `last_activity` may be lost: acceptable for an activity time.
   */
  recordUse(id: string, fields: Partial<Pick<CloudAuthzDoc, "last_activity" | "status" | "status_reason">>): Promise<void>;
}

export function createCloudAuthzRepo({ db }: { db: Db }): CloudAuthzRepo {
  const col = db.collection<CloudAuthzDoc>("cloud_authz");
  return {
    async insert(doc) {
      await col.insertOne(doc);
    },
    listByUser: (userId) => col.find({ user_id: userId }).sort({ create_time: 1, _id: 1 }).toArray(),
    getOwned: (id, userId) => col.findOne({ _id: id, user_id: userId }),
    update: (id, userId, fields) => col.findOneAndUpdate({ _id: id, user_id: userId }, { $set: fields }, { returnDocument: "after" }),
    deleteOwned: (id, userId) => col.findOneAndDelete({ _id: id, user_id: userId }),
    async recordUse(id, fields) {
      await col.updateOne({ _id: id }, { $set: fields });
    },
  };
}
