import type { Readable } from "node:stream";

/**
 * The provider-neutral storage port. One adapter per provider implements it
 * (`@skyferry/storage-s3`, `@skyferry/storage-azure`); every adapter runs the shared contract suite
 * (`@skyferry/storage/contract-suite`) against its real server.
 *
 * Errors: every method throws `StorageError` (see errors.ts) with one of the `StorageErrorCode`s;
 * provider SDK errors never escape an adapter unwrapped.
 */
export interface ObjectStore {
  readonly provider: "s3" | "azure";
  /**
   * True when a one-part `put` whose `md5` and `sha256` are declared streams its body (memory: a
   * stream buffer) instead of holding the whole object; absent or false: it holds it whole.
   */
  readonly streamsSinglePut?: boolean;

  /**
   * Uploads `body` (exactly `size` bytes) to `bucket/key`, in parts/blocks of `partSize` bytes,
   * each carrying its MD5 so the provider verifies it. Resumes a multipart upload when
   * `resume` names one whose parts are already stored (the stored parts are listed on the
   * provider and checked against the body's bytes; a part that does not match is sent again).
   * Writes `metadata` (and the whole object's sha256 as metadata `sha256`), then verifies the
   * commit: size, sha256 metadata and ETag/MD5, from a read-back (head), or for a single PUT from
   * the provider's answer when that answer is the MD5 it checked against the stored bytes.
   * The body is read once, part by part: memory is bounded by about (concurrency + 1) × partSize.
   * On failure an unfinished multipart upload is left in place for `resume` (call `abort` to
   * abandon it), except after INTEGRITY or ALREADY_EXISTS, when the adapter abandons it itself.
   * @throws StorageError ALREADY_EXISTS when `ifNoneMatch` is set and the key exists (decided
   *   by the provider's create-only condition at commit, not by a prior check; a check before
   *   sending parts may only refuse early, to avoid sending a doomed upload);
   *   NOT_FOUND when the bucket does not exist; ACCESS_DENIED; INVALID_CREDENTIALS;
   *   INTEGRITY when the provider rejects a digest, the body's size/sha256/md5 differ from the
   *   declared ones (nothing is committed), or the committed object differs;
   *   INVALID_ARGUMENT for a size beyond the provider's limits; TRANSIENT for
   *   throttling/5xx/resets (retry); ABORTED when `signal` fires; SOURCE when the body stream
   *   errors. Errors thrown by the `on…` callbacks are rethrown unchanged.
   */
  put(input: PutInput): Promise<PutResult>;

  /**
   * Metadata of an object, or `null` when it does not exist.
   * @throws StorageError NOT_FOUND for a missing bucket; ACCESS_DENIED; INVALID_CREDENTIALS; TRANSIENT.
   */
  head(bucket: string, key: string): Promise<ObjectInfo | null>;

  /**
   * Streams an object, or the bytes `range.start`..`range.end` (both inclusive, like HTTP Range;
   * `end` defaults to the last byte). `info.size` is the size of the whole object; `info.md5` is
   * the whole object's MD5 where the provider knows it, ranged read or not.
   * With `options.parallel` the bytes are read as ranges of `chunkSize`, `concurrency` at once, and
   * delivered in order (see `GetOptions`); the stream then errors with TRANSIENT when the object
   * is replaced while it is read (never a mix of two versions).
   * @throws StorageError NOT_FOUND when object or bucket is missing; INVALID_ARGUMENT for a range
   *   outside the object; ACCESS_DENIED; INVALID_CREDENTIALS; TRANSIENT; ABORTED when `signal` fires.
   */
  get(bucket: string, key: string, range?: { start: number; end?: number }, options?: GetOptions): Promise<{ info: ObjectInfo; body: Readable }>;

  /** Lists one page of objects and common prefixes. @throws NOT_FOUND for a missing bucket. */
  list(bucket: string, options?: ListOptions): Promise<ListPage>;

  /**
   * Abandons an unfinished multipart upload / uncommitted blocks. Idempotent: an unknown or
   * already finished upload id (or a missing bucket) is not an error.
   * @throws StorageError ACCESS_DENIED; INVALID_CREDENTIALS; TRANSIENT.
   */
  abort(bucket: string, key: string, uploadId: string): Promise<void>;

  /**
   * The unfinished uploads of exactly `key` (not of the longer keys it is a prefix of) that `abort`
   * can abandon, started at or after `options.startedAfter` when given, as the provider's clock
   * tells it. An upload `abort` abandoned is not listed any more. Lets a caller that recorded its
   * intent to start an upload (`PutInput.onUploadStarting`) but never learnt the upload's id find
   * it again. Azure: always none -- an upload there is uncommitted blocks, which cannot be
   * deleted (see `abort`; the service drops them at the blob's next commit or after 7 days).
   * @throws StorageError NOT_FOUND for a missing bucket (S3); ACCESS_DENIED; INVALID_CREDENTIALS; TRANSIENT.
   */
  listUploads(bucket: string, key: string, options?: { startedAfter?: Date }): Promise<PendingUpload[]>;

  /** Deletes an object. Idempotent. @throws StorageError NOT_FOUND for a missing bucket; ACCESS_DENIED; TRANSIENT. */
  delete(bucket: string, key: string): Promise<void>;

  /**
   * True when the bucket exists, false when it does not.
   * @throws StorageError ACCESS_DENIED / INVALID_CREDENTIALS when these credentials may not see it
   *   (so a caller can fail fast with the provider's reason); TRANSIENT.
   */
  bucketExists(bucket: string): Promise<boolean>;

  /** Releases the adapter's connections. The store must not be used afterwards. Never throws. */
  close(): Promise<void>;
}

/**
 * Positional reads of a body into the caller's buffers (a file handle): no buffer is allocated
 * per read, so a caller that reuses its buffers reads a body without garbage. `close` is called
 * once, when the put is done with it (also after a failure).
 */
export interface BodyReader {
  read(into: Buffer, offset: number, length: number, position: number): Promise<number>;
  close(): Promise<void>;
}

export interface PutInput {
  bucket: string;
  key: string;
  /**
   * The bytes: a stream, or a function opening one (called once per put; a multipart upload
   * without a declared sha256 calls it twice). A buffer, or a function giving one, is the whole
   * body at once: a small dataset read in one go is sent without a stream. A function may also
   * give a `BodyReader` (a file): the adapter then reads into buffers of its own, reused from one
   * read to the next, instead of a new buffer for every chunk of a stream.
   */
  body: Readable | Buffer | (() => Readable | Buffer | BodyReader | Promise<Readable | Buffer | BodyReader>);
  size: number;
  /** Bytes per part/block; the adapter raises it when needed to stay within the provider's part limit. */
  partSize?: number;
  /** Parts uploaded at once. */
  concurrency?: number;
  /**
   * Expected sha256 (hex) of the whole object; stored as metadata `sha256` and checked against the
   * bytes read before commit. When absent the adapter computes it (S3 multipart needs it before
   * the first byte: it then hashes a first pass, so `body` must be a function).
   */
  sha256?: string;
  /** Expected md5 (hex) of the whole object; checked before commit (INTEGRITY when it differs). */
  md5?: string;
  contentType?: string;
  metadata?: Record<string, string>;
  /** Provider storage class / access tier. */
  storageClass?: string;
  /** Create-only: fail with ALREADY_EXISTS instead of replacing an existing object. */
  ifNoneMatch?: boolean;
  /**
   * Resume a previous multipart upload: its id and the parts recorded as stored. The provider's
   * own list is authoritative; when the upload no longer exists a new one is started (and
   * `onUploadStarted` called again).
   */
  resume?: { uploadId: string; parts: CompletedPart[] };
  /**
   * Called before each multipart upload is started at the provider (S3: before
   * CreateMultipartUpload; also when `resume` names an upload the provider no longer knows), never
   * for a one-part put. Persist the intent here (write-ahead): an upload whose id `onUploadStarted`
   * could not record (the caller crashed, or its database was down) is then still known to exist,
   * and `listUploads` finds it. A throw rejects the put before anything is started.
   */
  onUploadStarting?: () => void | Promise<void>;
  /** Called when an upload id is assigned, before any part is sent (persist it for resume). */
  onUploadStarted?: (uploadId: string) => void | Promise<void>;
  /** Called after each part is stored (persist it for resume). Not called for parts skipped on resume. */
  onPartDone?: (part: CompletedPart) => void | Promise<void>;
  /** Bytes stored so far (including parts found already stored on resume), called as parts complete. */
  onProgress?: (bytesDone: number) => void;
  signal?: AbortSignal;
}

/** Options of `get`. */
export interface GetOptions {
  /**
   * Read in parallel: ranges of `chunkSize` bytes, at most `concurrency` requests at once, each
   * after the first conditional on the first one's ETag, delivered in order.
   * The first range in line streams through as it arrives; memory is bounded by about
   * `concurrency` × `chunkSize`. A span of one chunk is one streamed read, as without this option.
   */
  parallel?: { concurrency: number; chunkSize: number };
  /** Aborts the reads (the stream then errors with ABORTED). */
  signal?: AbortSignal;
}

export interface CompletedPart {
  /** 1-based part number. */
  number: number;
  /** S3: the part ETag. Azure: the block id. */
  etag: string;
  size: number;
  /** MD5 (hex) of the part's bytes, when known. */
  md5?: string;
}

export interface PutResult {
  bucket: string;
  key: string;
  size: number;
  etag: string;
  /** The sha256 recorded with the object (metadata), hex. */
  sha256: string;
  /** MD5 (hex) of the whole object, when the adapter computed it (single part, Azure). */
  md5?: string;
  /** Parts/blocks sent in this call (not counting those found stored on resume); 1 for a single PUT, 0 for none. */
  partsUploaded: number;
  versionId?: string;
}

export interface ObjectInfo {
  key: string;
  size: number;
  etag: string;
  lastModified?: Date;
  contentType?: string;
  /** Content-MD5 of the object where the provider knows it (single-part S3, Azure). */
  md5?: string;
  metadata: Record<string, string>;
}

/** An unfinished multipart upload at the provider (`ObjectStore.listUploads`). */
export interface PendingUpload {
  key: string;
  uploadId: string;
  /** When the provider started it. */
  started: Date;
}

export interface ListOptions {
  prefix?: string;
  delimiter?: string;
  limit?: number;
  cursor?: string;
}

export interface ListPage {
  objects: Array<Pick<ObjectInfo, "key" | "size" | "etag" | "lastModified">>;
  prefixes: string[];
  /** Opaque; pass back as `cursor` for the next page. Absent on the last page. */
  cursor?: string;
}
