import type { OutboundPolicy } from "@skyferry/outbound-policy";

/** Static S3 credentials (an access key pair, with a session token for temporary credentials). */
export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** Credentials and the moment they stop working. */
export interface ExpiringS3Credentials {
  credentials: S3Credentials;
  expiresAt: Date | number;
}

/** Fetches fresh credentials (e.g. from the authz service); called again before `expiresAt`. */
export type S3CredentialsSource = () => Promise<ExpiringS3Credentials>;

/** Options of `createS3Store`. */
export interface S3StoreOptions {
  /**
   * Checks every connection's address (the one actually connected to, after DNS) before it is
   * made: a user-supplied endpoint must pass it. Omitted: no check (an operator-configured store).
   */
  outbound?: OutboundPolicy;
  region: string;
  /** Custom endpoint for S3-compatible stores (e.g. `http://127.0.0.1:7480` for radosgw). */
  endpoint?: string;
  /** Path-style addressing (`endpoint/bucket/key`), needed by most S3-compatible stores. Default false. */
  forcePathStyle?: boolean;
  /** Static credentials, or a function that issues expiring ones and is called again before they expire. */
  credentials: S3Credentials | S3CredentialsSource;
  /** Renew credentials this long before they expire (at most half their lifetime). Default 5 minutes. */
  refreshMarginMs?: number;
  /** Default part size when a put does not name one. Default 8 MiB (never below S3's 5 MiB). */
  partSize?: number;
  /** Default parts in flight per put. Default 4. */
  concurrency?: number;
  /** Attempts per request, including the first (the SDK's retry with backoff). Default 3. */
  maxAttempts?: number;
  /** Socket idle timeout per request, in ms. Default 120000. */
  requestTimeoutMs?: number;
  /**
   * How create-only (`ifNoneMatch`) is enforced for multipart uploads:
   * - `"native"`: `If-None-Match: *` on CompleteMultipartUpload (AWS S3 since 2024; radosgw 16 ignores it).
   * - `"claim"` (default): claim the key just before completing with a 0-byte PutObject carrying
   *   `If-None-Match: *` (which radosgw honours atomically), then complete over the claim. See README.
   */
  createOnlyMultipart?: "native" | "claim";
  /**
   * Compare ETags with MD5s (part ETags on resume, the committed object's ETag after put).
   * Default true; set false for buckets whose ETags are not MD5s (SSE-KMS, SSE-C).
   */
  etagIsMd5?: boolean;
  /**
   * Send one-part objects whose body is read whole (up to 256 KiB with declared md5 and sha256)
   * straight over HTTP, signed by the SDK's SigV4 signer for the endpoint the SDK's rules name,
   * instead of through the SDK's middleware stack (most of the CPU of a small object). Default
   * true; false sends every request through the SDK.
   */
  directPut?: boolean;
}
