import { randomBytes } from "node:crypto";
import type { UserView } from "@skyferry/contracts";
import type { Db, IndexDescription } from "mongodb";

/** A skyferry user; created at first sign-in with an identity that belongs to nobody yet. */
export interface UserDoc {
  _id: string;
  email: string;
  username: string;
  create_time: Date;
  last_login_time: Date;
  deleted: boolean;
}

export const userIndexes: Record<string, IndexDescription[]> = {
  users: [{ key: { email: 1 }, name: "email" }],
};

export interface Users {
  create(email: string): Promise<UserDoc>;
  get(id: string): Promise<UserDoc | null>;
  touchLogin(id: string): Promise<void>;
}

export function createUsers({ db, now }: { db: Db; now: () => Date }): Users {
  const col = db.collection<UserDoc>("users");
  return {
    async create(email) {
      const time = now();
      const doc: UserDoc = { _id: randomBytes(8).toString("hex"), email, username: usernameFrom(email), create_time: time, last_login_time: time, deleted: false };
      await col.insertOne(doc);
      return doc;
    },
    get: (id) => col.findOne({ _id: id, deleted: false }),
    async touchLogin(id) {
      await col.updateOne({ _id: id }, { $set: { last_login_time: now() } });
    },
  };
}

/** Galaxy's public name: lowercase letters, digits and `-`, derived from the email's local part. */
function usernameFrom(email: string): string {
  const local = email.split("@")[0] ?? "";
  return local.toLowerCase().replace(/[^a-z0-9-]/g, "-").slice(0, 40) || "user";
}

export function userView(user: UserDoc): UserView {
  return {
    id: user._id,
    model_class: "User",
    email: user.email,
    username: user.username,
    is_admin: false,
    deleted: user.deleted,
    create_time: user.create_time.toISOString(),
  };
}
