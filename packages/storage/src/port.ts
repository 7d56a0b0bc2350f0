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
   * Uploads `body` (exactly `size` bytes) to `bucket/key`, in parts/blocks of `partSize` bytes,
   * each carrying its MD5 so the provider verifies it. Resumes a multipart upload when
   * `resume` names one whose parts are already stored. Writes `metadata` (and the whole
   * object's sha256 as metadata `sha256`).
   * @throws StorageError ALREADY_EXISTS when `ifNoneMatch` is set and the key exists (decided
   *   by the provider's create-only condition at commit, not by a prior check);
   *   NOT_FOUND when the bucket does not exist; ACCESS_DENIED; INTEGRITY when the provider rejects
   *   a digest or the committed object differs; TRANSIENT for throttling/5xx/resets (retry);
   *   ABORTED when `signal` fires.
   */
  put(input: PutInput): Promise<PutResult>;

  /** Metadata of an object, or `null` when it does not exist. @throws NOT_FOUND for a missing bucket. */
  head(bucket: string, key: string): Promise<ObjectInfo | null>;

  /** Streams an object (or a byte range of it). @throws NOT_FOUND when object or bucket is missing. */
  get(bucket: string, key: string, range?: { start: number; end?: number }): Promise<{ info: ObjectInfo; body: Readable }>;

  /** Lists one page of objects and common prefixes. @throws NOT_FOUND for a missing bucket. */
  list(bucket: string, options?: ListOptions): Promise<ListPage>;

  /** Abandons an unfinished multipart upload / uncommitted blocks. Idempotent. */
  abort(bucket: string, key: string, uploadId: string): Promise<void>;

  /** Deletes an object. Idempotent. */
  delete(bucket: string, key: string): Promise<void>;

  /** True when the bucket exists and these credentials can see it. */
  bucketExists(bucket: string): Promise<boolean>;
}

export interface PutInput {
  bucket: string;
  key: string;
  body: Readable | (() => Readable | Promise<Readable>);
  size: number;
  /** Bytes per part/block; the adapter raises it when needed to stay within the provider's part limit. */
  partSize?: number;
  /** Parts uploaded at once. */
  concurrency?: number;
  /** Expected sha256 (hex) of the whole object; stored as metadata and checked. */
  sha256?: string;
  /** Expected md5 (hex) of the whole object. */
  md5?: string;
  contentType?: string;
  metadata?: Record<string, string>;
  /** Provider storage class / access tier. */
  storageClass?: string;
  /** Create-only: fail with ALREADY_EXISTS instead of replacing an existing object. */
  ifNoneMatch?: boolean;
  /** Resume a previous multipart upload: its id and the parts already stored. */
  resume?: { uploadId: string; parts: CompletedPart[] };
  /** Called when an upload id is assigned, before any part is sent (persist it for resume). */
  onUploadStarted?: (uploadId: string) => void | Promise<void>;
  /** Called after each part is stored (persist it for resume). */
  onPartDone?: (part: CompletedPart) => void | Promise<void>;
  /** Bytes stored so far, called as parts complete. */
  onProgress?: (bytesDone: number) => void;
  signal?: AbortSignal;
}

export interface CompletedPart {
  /** 1-based part number. */
  number: number;
  /** S3: the part ETag. Azure: the block id. */
  etag: string;
  size: number;
}

export interface PutResult {
  bucket: string;
  key: string;
  size: number;
  etag: string;
  /** The sha256 recorded with the object (metadata), hex. */
  sha256?: string;
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
