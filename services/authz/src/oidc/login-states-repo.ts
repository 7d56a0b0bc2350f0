import type { Db, IndexDescription } from "mongodb";
import type { SealedSecret, SecretBox } from "../crypto/secret-box.ts";
import { hashSecret } from "../crypto/tokens.ts";

/** A sign-in in progress, keyed by the SHA-256 of its `state`; taken (deleted) by the callback. */
export interface LoginStateDoc {
  _id: string;
  provider: string;
  /** The PKCE code verifier, sealed: it is what makes a stolen code useless. */
  code_verifier: SealedSecret;
  nonce: string;
  redirect_uri: string;
  link_user_id: string | null;
  create_time: Date;
  expires_at: Date;
}

export interface LoginState {
  provider: string;
  codeVerifier: string;
  nonce: string;
  redirectUri: string;
  linkUserId: string | null;
}

export const loginStateIndexes: Record<string, IndexDescription[]> = {
  // FerretDB has no TTL indexes: expired states are refused on take and purged on put.
  login_states: [{ key: { expires_at: 1 }, name: "expires_at" }],
};

export interface LoginStates {
  put(state: string, value: LoginState): Promise<Date>;
  /** The state's sign-in, removed so it cannot be replayed; null when unknown or expired. */
  take(state: string): Promise<LoginState | null>;
}

export function createLoginStates({ db, box, now, ttlSeconds }: { db: Db; box: SecretBox; now: () => Date; ttlSeconds: number }): LoginStates {
  const col = db.collection<LoginStateDoc>("login_states");
  return {
    async put(state, value) {
      const id = hashSecret(state);
      const time = now();
      const expiresAt = new Date(time.getTime() + ttlSeconds * 1000);
      await col.deleteMany({ expires_at: { $lte: time } });
      await col.insertOne({
        _id: id,
        provider: value.provider,
        code_verifier: box.seal(value.codeVerifier, `login_state:${id}:code_verifier`),
        nonce: value.nonce,
        redirect_uri: value.redirectUri,
        link_user_id: value.linkUserId,
        create_time: time,
        expires_at: expiresAt,
      });
      return expiresAt;
    },
    async take(state) {
      const id = hashSecret(state);
      const doc = await col.findOneAndDelete({ _id: id });
      if (!doc || doc.expires_at.getTime() <= now().getTime()) return null;
      return {
        provider: doc.provider,
        codeVerifier: box.open(doc.code_verifier, `login_state:${id}:code_verifier`),
        nonce: doc.nonce,
        redirectUri: doc.redirect_uri,
        linkUserId: doc.link_user_id,
      };
    },
  };
}
