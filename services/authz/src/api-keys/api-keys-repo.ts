import { randomBytes } from "node:crypto";
import type { Db, IndexDescription } from "mongodb";
import { hashSecret, randomSecret, sameHash } from "../crypto/tokens.ts";

/** An API key: only its SHA-256 and its first characters (to recognise it in a list) are stored. */
export interface ApiKeyDoc {
  _id: string;
  user_id: string;
  key_hash: string;
  key_hint: string;
  create_time: Date;
  revoked_time: Date | null;
}

export const apiKeyIndexes: Record<string, IndexDescription[]> = {
  api_keys: [
    { key: { key_hash: 1 }, name: "key_hash", unique: true },
    { key: { user_id: 1, create_time: -1 }, name: "user_newest" },
  ],
};

/** Characters of a key kept in clear to show which key is current (16 of its 256 bits). */
const HINT_LENGTH = 4;

export interface ApiKeys {
  /** A new key for the user; every older key of the user is revoked. `key` is shown once. */
  create(userId: string): Promise<{ key: string; createTime: Date; revoked: number }>;
  /** The user's current (newest live) key, without its secret. */
  current(userId: string): Promise<ApiKeyDoc | null>;
  /** The owner of a live key, or null for an unknown or revoked key. */
  resolve(key: string): Promise<{ userId: string } | null>;
  /** `resolve` by the key's SHA-256 (hex), as the gateway sends it: the key never crosses the bus. */
  resolveHash(keyHash: string): Promise<{ userId: string } | null>;
  revokeAll(userId: string): Promise<number>;
}

export function createApiKeys({ db, now }: { db: Db; now: () => Date }): ApiKeys {
  const col = db.collection<ApiKeyDoc>("api_keys");
  const keys: ApiKeys = {
    async create(userId) {
      // 256 random bits as 64 hex characters (Galaxy used 128 bits, 32 hex).
      const key = randomSecret(32);
      const time = now();
      const id = randomBytes(8).toString("hex");
      await col.insertOne({ _id: id, user_id: userId, key_hash: hashSecret(key), key_hint: key.slice(0, HINT_LENGTH), create_time: time, revoked_time: null });
      // Revoke every key older than this one; ties on time are broken by id so that two
      // concurrent creations leave exactly one live key.
      const res = await col.updateMany(
        {
          user_id: userId,
          revoked_time: null,
          $or: [{ create_time: { $lt: time } }, { create_time: time, _id: { $lt: id } }],
        },
        { $set: { revoked_time: time } },
      );
      return { key, createTime: time, revoked: res.modifiedCount };
    },
    current: (userId) => col.findOne({ user_id: userId, revoked_time: null }, { sort: { create_time: -1, _id: -1 } }),
    resolve(key) {
      return keys.resolveHash(hashSecret(key));
    },
    async resolveHash(hash) {
      const doc = await col.findOne({ key_hash: hash });
      if (!doc || doc.revoked_time !== null || !sameHash(doc.key_hash, hash)) return null;
      return { userId: doc.user_id };
    },
    async revokeAll(userId) {
      const res = await col.updateMany({ user_id: userId, revoked_time: null }, { $set: { revoked_time: now() } });
      return res.modifiedCount;
    },
  };
  return keys;
}

/** How a stored key is shown: its first characters, the rest masked. */
export function maskedKey(doc: ApiKeyDoc): string {
  return `${doc.key_hint}${"*".repeat(60)}`;
}
