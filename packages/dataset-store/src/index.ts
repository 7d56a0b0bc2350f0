import type { Readable } from "node:stream";

/**
 * Where dataset bytes live. The history service writes; transfer workers read the same store
 * directly (read-only) so bytes stream from the store to the provider without a second copy.
 * Implementations: `file` (a directory, the default) and `s3` (an S3-compatible bucket).
 */
export interface DatasetStore {
  readonly kind: "file" | "s3";
  /**
   * Streams `body` into the store under `key`, atomically: the key appears only when every byte
   * is durably stored. Computes sha256 and md5 while streaming.
   * @throws when `maxBytes` is exceeded (nothing is left behind) or the stream errors.
   */
  write(key: string, body: Readable, options?: { maxBytes?: number; signal?: AbortSignal }): Promise<StoredBlob>;
  /** Streams the bytes (or the inclusive range `start..end`). @throws when the key does not exist. */
  read(key: string, range?: { start: number; end?: number }): Promise<Readable>;
  /** Size of a stored blob, or null when absent. */
  stat(key: string): Promise<{ size: number } | null>;
  /** Removes a blob; idempotent. */
  delete(key: string): Promise<void>;
}

export interface StoredBlob {
  key: string;
  size: number;
  sha256: string;
  md5: string;
}
