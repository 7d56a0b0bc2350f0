import type { SealedSecret, SecretBox } from "../crypto/secret-box.ts";

/** A secret config field at rest: sealed (key id beside the value) plus the hint its mask shows. */
export interface StoredSecret extends SealedSecret {
  /** The last 4 characters for secrets of 16 or more characters, else "". */
  hint: string;
  /**
   * 2: the associated data binds the owner's user id too (issue 19). Absent: sealed before that,
   * bound to record and field only; still opened, and sealed again (as 2) on the record's next update.
   */
  aad?: 2;
}

/** Secrets shorter than this are masked without a hint: 4 characters of a short secret say too much. */
const HINT_MIN_LENGTH = 16;

/** How a secret appears in every response: `****` and its last 4 characters, or `********`. */
export function mask(s: StoredSecret): string {
  return s.hint ? `****${s.hint}` : "********";
}

/** Binds a sealed value to its owner, record and field, so it does not open anywhere else (e.g. copied to another user's record). */
const context = (userId: string, authzId: string, field: string) => `cloudauthz:v2:${userId}:${authzId}:${field}`;
const legacyContext = (authzId: string, field: string) => `cloudauthz:${authzId}:${field}`;

/** Where a sealed secret belongs: its owner and record. */
export interface SecretOwner {
  userId: string;
  authzId: string;
}

export function sealSecret(box: SecretBox, owner: SecretOwner, field: string, value: string): StoredSecret {
  return { ...box.seal(value, context(owner.userId, owner.authzId, field)), hint: value.length >= HINT_MIN_LENGTH ? value.slice(-4) : "", aad: 2 };
}

export function openSecret(box: SecretBox, owner: SecretOwner, field: string, s: StoredSecret): string {
  return box.open({ kid: s.kid, v: s.v }, s.aad === 2 ? context(owner.userId, owner.authzId, field) : legacyContext(owner.authzId, field));
}

/** Splits a checked config into its plain fields and its sealed secret fields. */
export function splitConfig(
  box: SecretBox,
  owner: SecretOwner,
  config: Record<string, unknown>,
  secretFields: readonly string[],
): { plain: Record<string, unknown>; secrets: Record<string, StoredSecret> } {
  const plain: Record<string, unknown> = {};
  const secrets: Record<string, StoredSecret> = {};
  for (const [k, v] of Object.entries(config)) {
    if (secretFields.includes(k) && typeof v === "string") secrets[k] = sealSecret(box, owner, k, v);
    else plain[k] = v;
  }
  return { plain, secrets };
}
