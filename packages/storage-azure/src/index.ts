import type { ObjectStore } from "@skyferry/storage";
import { AZURE_DEFAULT_CONCURRENCY, AZURE_DEFAULT_PART_SIZE } from "./blocks.ts";
import { createAzureClients } from "./clients.ts";
import type { AzureStoreOptions } from "./options.ts";
import { putBlob } from "./put.ts";
import { containerExists, deleteBlob, getBlob, headBlob, listBlobs } from "./store.ts";

export type { AzureAuth, AzureStoreOptions, ExpiringSas, ExpiringToken } from "./options.ts";
export { AZURE_LIMITS, AZURE_DEFAULT_CONCURRENCY, AZURE_DEFAULT_PART_SIZE, blockId } from "./blocks.ts";
export { toStorageError } from "./errors.ts";
export { renewingTokenCredential } from "./clients.ts";
export { guardedPipeline } from "./outbound.ts";

/**
 * An `ObjectStore` on Azure Blob Storage (or Azurite) through @azure/storage-blob: blocks staged in
 * parallel (each with its MD5, checked by the service), then one commit carrying the whole object's
 * Content-MD5 and sha256 metadata, create-only via `If-None-Match: *` on the commit, and every put
 * read back and verified. A bucket is a container. Block ids are deterministic per upload and part,
 * so `resume` re-stages only blocks the service does not hold. `abort` is a no-op: uncommitted
 * blocks cannot be deleted; the service drops them at the blob's next commit or after 7 days.
 * A SAS or token given as a function is renewed before it expires. Creating the store sends no
 * request. Every method throws only `StorageError` (codes as documented on `ObjectStore`), except
 * that errors thrown by a put's `on…` callbacks are rethrown unchanged.
 * @throws TypeError (synchronously) for a missing accountUrl or auth.
 */
export function createAzureStore(options: AzureStoreOptions): ObjectStore {
  if (!options.accountUrl) throw new TypeError("createAzureStore: accountUrl is required");
  if (!options.auth) throw new TypeError("createAzureStore: auth is required");
  const clients = createAzureClients(options);
  const defaults = { partSize: options.partSize ?? AZURE_DEFAULT_PART_SIZE, concurrency: options.concurrency ?? AZURE_DEFAULT_CONCURRENCY };
  return {
    provider: "azure",
    put: (input) => putBlob(clients, defaults, input),
    head: (bucket, key) => headBlob(clients, bucket, key),
    get: (bucket, key, range, options) => getBlob(clients, bucket, key, range, options),
    list: (bucket, opts) => listBlobs(clients, bucket, opts),
    abort: async () => undefined,
    // No upload to list: uncommitted blocks are not one `abort` could abandon (see abort above).
    // A write-ahead caller loses nothing: the upload id is made here and announced before a block is staged.
    listUploads: async () => [],
    delete: (bucket, key) => deleteBlob(clients, bucket, key),
    bucketExists: (bucket) => containerExists(clients, bucket),
    close: async () => undefined,
  };
}
