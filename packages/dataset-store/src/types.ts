import type { Readable } from "node:stream";

/**
 * Where dataset bytes live. The history service writes; transfer workers read the same store
 * directly (read-only) so bytes stream from the store to the provider without a second copy.
 * Implementations: `file` (a directory, the default) and `s3` (an S3-compatible bucket).
 *
 * Keys are relative paths of 1..8 `/`-separated segments, each `[A-Za-z0-9][A-Za-z0-9._-]{0,127}`
 * (see `shardedKey`); anything else throws DATASET_STORE_KEY_INVALID. Errors are
 * `DatasetStoreError`s (see errors.ts).
 */
export interface DatasetStore {
  readonly kind: "file" | "s3";
  /**
   * Streams `body` into the store under `key`, atomically: the key appears only when every byte
   * is durably stored (replacing an older blob under the same key). Computes sha256 and md5
   * while streaming. On any failure nothing is left behind (no temporary file, no unfinished
   * multipart upload) and an older blob under the key is untouched.
   * @throws DATASET_STORE_TOO_LARGE (413) when more than `maxBytes` arrive; DATASET_STORE_ABORTED
   *   when `signal` fires; DATASET_STORE_SOURCE when `body` errors; DATASET_STORE_READ_ONLY;
   *   DATASET_STORE_KEY_INVALID; DATASET_STORE_FULL (507) when the file system has no space left
   *   (ENOSPC, EDQUOT); DATASET_STORE_IO / DATASET_STORE_UNAVAILABLE (retryable).
   */
  write(key: string, body: Readable, options?: WriteOptions): Promise<StoredBlob>;
  /**
   * Streams the bytes (or the inclusive range `start..end`; `end` past the last byte is clamped,
   * `start` equal to the size gives an empty stream).
   * @throws DATASET_STORE_NOT_FOUND when the key does not exist (before any byte is streamed);
   *   DATASET_STORE_RANGE_INVALID (416) when `start` lies beyond the end or the range is malformed.
   */
  read(key: string, range?: { start: number; end?: number }): Promise<Readable>;
  /**
   * The whole blob in one buffer when it holds at most `maxBytes`; null when it holds more. For a
   * small dataset this costs less than a stream (the file store: one open, one read, one close).
   * With `into` (at least `maxBytes + 1` bytes long) the bytes are read into it and the answer is a
   * view of it: a caller that reuses its buffers reads small blobs without garbage.
   * @throws DATASET_STORE_NOT_FOUND when the key does not exist.
   */
  readWhole(key: string, maxBytes: number, into?: Buffer): Promise<Buffer | null>;
  /**
   * Positional reads of a blob into the caller's buffers: a caller that reuses its buffers reads a
   * large blob without a new buffer per chunk (bench:send, 100 x 10 MiB: the two transfer workers
   * used 2.3-2.8 s of CPU per round this way, 4.6-5.8 s with `read`'s stream and the SDK). Only
   * stores with random access have it (the file store); the caller closes the reader.
   * @throws DATASET_STORE_NOT_FOUND when the key does not exist.
   */
  openReader?(key: string): Promise<BlobReader>;
  /** Size of a stored blob, or null when absent. */
  stat(key: string): Promise<{ size: number } | null>;
  /** Removes a blob; idempotent. @throws DATASET_STORE_READ_ONLY */
  delete(key: string): Promise<void>;
  /** Releases connections (s3). The store must not be used afterwards. Never throws. */
  close?(): Promise<void>;
}

/** See `DatasetStore.openReader`. Reads past the end answer 0; errors are DATASET_STORE_IO. */
export interface BlobReader {
  read(into: Buffer, offset: number, length: number, position: number): Promise<number>;
  close(): Promise<void>;
}

export interface WriteOptions {
  maxBytes?: number;
  signal?: AbortSignal;
  /** The body's size when the caller knows it (a hint: how to hash it; the bytes that come are stored). */
  expectedSize?: number;
}

export interface StoredBlob {
  key: string;
  size: number;
  /** Hex digests of the stored bytes, computed while they streamed in. */
  sha256: string;
  md5: string;
}
