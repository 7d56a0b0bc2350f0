import type { Db, IndexDescription } from "mongodb";
import { hashSecret, randomSecret, sameHash } from "../crypto/tokens.ts";

/** A browser session. Only the SHA-256 of the cookie value is stored, as `_id`. */
export interface SessionDoc {
  _id: string;
  user_id: string;
  identity_id: string;
  create_time: Date;
  expires_at: Date;
}

export const sessionIndexes: Record<string, IndexDescription[]> = {
  sessions: [
    // FerretDB has no TTL indexes: expired sessions are refused on read and purged on create.
    { key: { expires_at: 1 }, name: "expires_at" },
    { key: { user_id: 1 }, name: "user_id" },
    { key: { identity_id: 1 }, name: "identity_id" },
  ],
};

export interface Sessions {
  /** A new session; `sessionId` is the cookie value (256 random bits) and is not stored. */
  create(userId: string, identityId: string): Promise<{ sessionId: string; expiresAt: Date }>;
  /** The live session's user, or null (unknown, ended or expired). */
  resolve(sessionId: string): Promise<{ userId: string } | null>;
  /** `resolve` by the session id's SHA-256 (hex), as the gateway sends it. */
  resolveHash(sessionHash: string): Promise<{ userId: string } | null>;
  end(sessionId: string): Promise<boolean>;
  /** `end` by the session id's SHA-256 (hex). */
  endHash(sessionHash: string): Promise<boolean>;
  endForIdentity(identityId: string): Promise<number>;
}

export function createSessions({ db, now, ttlSeconds }: { db: Db; now: () => Date; ttlSeconds: number }): Sessions {
  const col = db.collection<SessionDoc>("sessions");
  const sessions: Sessions = {
    async create(userId, identityId) {
      const sessionId = randomSecret(32);
      const time = now();
      const expiresAt = new Date(time.getTime() + ttlSeconds * 1000);
      await col.deleteMany({ expires_at: { $lte: time } });
      await col.insertOne({ _id: hashSecret(sessionId), user_id: userId, identity_id: identityId, create_time: time, expires_at: expiresAt });
      return { sessionId, expiresAt };
    },
    resolve(sessionId) {
      return sessions.resolveHash(hashSecret(sessionId));
    },
    async resolveHash(hash) {
      const doc = await col.findOne({ _id: hash });
      if (!doc || !sameHash(doc._id, hash) || doc.expires_at.getTime() <= now().getTime()) return null;
      return { userId: doc.user_id };
    },
    end(sessionId) {
      return sessions.endHash(hashSecret(sessionId));
    },
    async endHash(hash) {
      const res = await col.deleteOne({ _id: hash });
      return res.deletedCount > 0;
    },
    async endForIdentity(identityId) {
      const res = await col.deleteMany({ identity_id: identityId });
      return res.deletedCount;
    },
  };
  return sessions;
}
