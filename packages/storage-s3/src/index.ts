import type { ObjectStore } from "@skyferry/storage";
import { createS3Client } from "./client.ts";
import { createDirectPut } from "./direct-put.ts";
import type { S3Context } from "./context.ts";
import { S3_DEFAULT_CONCURRENCY, S3_DEFAULT_PART_SIZE, S3_REQUEST_TIMEOUT_MS } from "./limits.ts";
import type { S3StoreOptions } from "./options.ts";
import { putObject } from "./put.ts";
import { abortObjectUpload, bucketExists, deleteObject, getObject, headObject, listObjects } from "./store.ts";
import { listKeyUploads } from "./uploads.ts";

export type { ExpiringS3Credentials, S3Credentials, S3CredentialsSource, S3StoreOptions } from "./options.ts";
export { S3_LIMITS, S3_DEFAULT_CONCURRENCY, S3_DEFAULT_PART_SIZE } from "./limits.ts";
export { cleanEtag, multipartEtag } from "./etag.ts";
export { toStorageError } from "./errors.ts";
export { renewingCredentials } from "./credentials.ts";

/**
 * An `ObjectStore` on S3 or an S3-compatible store (radosgw, MinIO, ...) through @aws-sdk/client-s3:
 * single PutObject up to one part, multipart above, Content-MD5 on every request body, sha256 in
 * metadata `sha256`, every put read back and verified. Credentials given as a function are renewed
 * before they expire. Creating the store sends no request.
 * Every method throws only `StorageError` (codes as documented on `ObjectStore`), except that
 * errors thrown by a put's `on…` callbacks are rethrown unchanged.
 * @throws TypeError (synchronously) for a missing region or credentials.
 */
export function createS3Store(options: S3StoreOptions): ObjectStore {
  if (!options.region) throw new TypeError("createS3Store: region is required");
  if (!options.credentials) throw new TypeError("createS3Store: credentials are required");
  const client = createS3Client(options);
  const direct = options.directPut === false
    ? undefined
    : createDirectPut(client, { region: options.region, forcePathStyle: options.forcePathStyle ?? false, requestTimeoutMs: options.requestTimeoutMs ?? S3_REQUEST_TIMEOUT_MS, ...(options.endpoint ? { endpoint: options.endpoint } : {}), ...(options.outbound ? { outbound: options.outbound } : {}) });
  const ctx: S3Context = {
    client,
    ...(direct ? { direct } : {}),
    partSize: options.partSize ?? S3_DEFAULT_PART_SIZE,
    concurrency: options.concurrency ?? S3_DEFAULT_CONCURRENCY,
    createOnlyMultipart: options.createOnlyMultipart ?? "claim",
    etagIsMd5: options.etagIsMd5 ?? true,
  };
  return {
    provider: "s3",
    streamsSinglePut: true,
    put: (input) => putObject(ctx, input),
    head: (bucket, key) => headObject(ctx, bucket, key),
    get: (bucket, key, range, options) => getObject(ctx, bucket, key, range, options),
    list: (bucket, opts) => listObjects(ctx, bucket, opts),
    abort: (bucket, key, uploadId) => abortObjectUpload(ctx, bucket, key, uploadId),
    listUploads: (bucket, key, opts) => listKeyUploads(ctx, bucket, key, opts?.startedAfter),
    delete: (bucket, key) => deleteObject(ctx, bucket, key),
    bucketExists: (bucket) => bucketExists(ctx, bucket),
    close: async () => {
      client.destroy();
      await direct?.close();
    },
  };
}
