import { randomBytes } from "node:crypto";
import type { Db, IndexDescription } from "mongodb";
import type { SealedSecret, SecretBox } from "../crypto/secret-box.ts";

/**
 * A user's account at an OpenID Connect provider. `_id` is the `authn_id` cloud authorizations
 * name. Tokens are sealed with the secret box, bound to this identity and field.
 */
export interface IdentityDoc {
  _id: string;
  user_id: string;
  provider: string;
  subject: string;
  email: string;
  id_token: SealedSecret;
  refresh_token: SealedSecret | null;
  /** When the stored ID token expires. */
  expires_at: Date;
  create_time: Date;
  update_time: Date;
}

export interface IdentityTokens {
  idToken: string;
  refreshToken: string | null;
  expiresAt: Date;
}

export const identityIndexes: Record<string, IndexDescription[]> = {
  identities: [
    { key: { provider: 1, subject: 1 }, name: "provider_subject", unique: true },
    { key: { user_id: 1 }, name: "user_id" },
    // A user's identities, oldest first.
    { key: { user_id: 1, create_time: 1 }, name: "user_created" },
  ],
};

export interface Identities {
  findBySubject(provider: string, subject: string): Promise<IdentityDoc | null>;
  get(id: string): Promise<IdentityDoc | null>;
  listByUser(userId: string): Promise<IdentityDoc[]>;
  /** Throws a duplicate-key error when (provider, subject) exists. */
  insert(input: { userId: string; provider: string; subject: string; email: string; tokens: IdentityTokens }): Promise<IdentityDoc>;
  /** Stores new tokens; a null refresh token keeps the one stored. */
  updateTokens(id: string, tokens: IdentityTokens, email?: string): Promise<void>;
  openTokens(doc: IdentityDoc): IdentityTokens;
  /** Deletes the user's identity at `provider` with `email`; its id, or null when there is none. */
  deleteOwned(userId: string, provider: string, email: string): Promise<string | null>;
}

export function createIdentities({ db, box, now }: { db: Db; box: SecretBox; now: () => Date }): Identities {
  const col = db.collection<IdentityDoc>("identities");
  const ctx = (id: string, field: string) => `identity:${id}:${field}`;
  const sealTokens = (id: string, t: IdentityTokens) => ({
    id_token: box.seal(t.idToken, ctx(id, "id_token")),
    ...(t.refreshToken ? { refresh_token: box.seal(t.refreshToken, ctx(id, "refresh_token")) } : {}),
    expires_at: t.expiresAt,
  });
  return {
    findBySubject: (provider, subject) => col.findOne({ provider, subject }),
    get: (id) => col.findOne({ _id: id }),
    listByUser: (userId) => col.find({ user_id: userId }).sort({ create_time: 1 }).toArray(),
    async insert({ userId, provider, subject, email, tokens }) {
      const id = randomBytes(8).toString("hex");
      const time = now();
      const doc: IdentityDoc = {
        _id: id,
        user_id: userId,
        provider,
        subject,
        email,
        refresh_token: null,
        ...sealTokens(id, tokens),
        create_time: time,
        update_time: time,
      };
      await col.insertOne(doc);
      return doc;
    },
    async updateTokens(id, tokens, email) {
      await col.updateOne({ _id: id }, { $set: { ...sealTokens(id, tokens), ...(email ? { email } : {}), update_time: now() } });
    },
    openTokens(doc) {
      return {
        idToken: box.open(doc.id_token, ctx(doc._id, "id_token")),
        refreshToken: doc.refresh_token ? box.open(doc.refresh_token, ctx(doc._id, "refresh_token")) : null,
        expiresAt: doc.expires_at,
      };
    },
    async deleteOwned(userId, provider, email) {
      const doc = await col.findOneAndDelete({ user_id: userId, provider, email });
      return doc?._id ?? null;
    },
  };
}
