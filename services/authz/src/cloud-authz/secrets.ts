import type { SealedSecret, SecretBox } from "../crypto/secret-box.ts";

/** A secret config field at rest: sealed (key id beside the value) plus the hint its mask shows. */
export interface StoredSecret extends SealedSecret {
  /** The last 4 characters for secrets of 16 or more characters, else "". */
  hint: string;
}

/** Secrets shorter than this are masked without a hint: 4 characters of a short secret say too much. */
const HINT_MIN_LENGTH = 16;

/** How a secret appears in every response: `****` and its last 4 characters, or `********`. */
export function mask(s: StoredSecret): string {
  return s.hint ? `****${s.hint}` : "********";
}

/** Binds a sealed value to its record and field, so it does not open anywhere else. */
const context = (authzId: string, field: string) => `cloudauthz:${authzId}:${field}`;

export function sealSecret(box: SecretBox, authzId: string, field: string, value: string): StoredSecret {
  return { ...box.seal(value, context(authzId, field)), hint: value.length >= HINT_MIN_LENGTH ? value.slice(-4) : "" };
}

export function openSecret(box: SecretBox, authzId: string, field: string, s: StoredSecret): string {
  return box.open({ kid: s.kid, v: s.v }, context(authzId, field));
}

/** Splits a checked config into its plain fields and its sealed secret fields. */
export function splitConfig(
  box: SecretBox,
  authzId: string,
  config: Record<string, unknown>,
  secretFields: readonly string[],
): { plain: Record<string, unknown>; secrets: Record<string, StoredSecret> } {
  const plain: Record<string, unknown> = {};
  const secrets: Record<string, StoredSecret> = {};
  for (const [k, v] of Object.entries(config)) {
    if (secretFields.includes(k) && typeof v === "string") secrets[k] = sealSecret(box, authzId, k, v);
    else plain[k] = v;
  }
  return { plain, secrets };
}
