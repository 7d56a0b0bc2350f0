import { invalidKey } from "./errors.ts";

// A key is a relative path of 1..8 segments; each starts with a letter or digit, so `.`, `..`,
// hidden names and the file store's `.tmp-*` names can never be keys. Same rule for both stores,
// so a directory can be synced to a bucket one to one.
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const MAX_SEGMENTS = 8;

/** Returns the key's segments. @throws DATASET_STORE_KEY_INVALID */
export function checkKey(key: string): string[] {
  if (typeof key !== "string" || key.length === 0 || key.length > 512) throw invalidKey(String(key));
  const segments = key.split("/");
  if (segments.length > MAX_SEGMENTS || !segments.every((s) => SEGMENT.test(s))) throw invalidKey(key);
  return segments;
}

/**
 * The recommended key for a dataset: `ab/cd/<id>` from the id's first four characters, so no
 * directory (file store) holds more than 256 entries per level before the leaves. The store
 * itself maps a key to a path one to one; sharding is the key's job.
 */
export function shardedKey(id: string): string {
  const key = id.length >= 4 ? `${id.slice(0, 2)}/${id.slice(2, 4)}/${id}` : id;
  checkKey(key);
  return key;
}
