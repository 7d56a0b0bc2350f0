import { type Static, Type } from "@sinclair/typebox";
import type { Logger } from "@skyferry/logger";
import { configInvalid } from "./errors.ts";
import { createFileDatasetStore } from "./file-store.ts";
import { createS3DatasetStore } from "./s3-store.ts";
import type { DatasetStore } from "./types.ts";

/**
 * The dataset store's settings, to spread into a service's config schema
 * (`Type.Object({ ...BaseConfig, ...DatasetStoreConfig, ... })`); each is read from the
 * environment variable of the same name.
 */
export const DatasetStoreConfig = {
  /** Where dataset bytes live: `file` (a directory shared by history and transfer) or `s3` (a bucket, for many nodes). */
  DATASET_STORE: Type.Union([Type.Literal("file"), Type.Literal("s3")], { default: "file" }),
  /** Directory of the `file` store (read-only in the transfer service). */
  DATASET_STORE_DIR: Type.String({ default: ".data/datasets", minLength: 1 }),
  /** S3 endpoint URL for S3-compatible servers (radosgw, MinIO); empty for AWS. */
  DATASET_STORE_S3_ENDPOINT: Type.String({ default: "" }),
  DATASET_STORE_S3_REGION: Type.String({ default: "us-east-1", minLength: 1 }),
  /** Bucket of the `s3` store (required when DATASET_STORE=s3; it must exist). */
  DATASET_STORE_S3_BUCKET: Type.String({ default: "" }),
  /** Key prefix inside the bucket, empty or ending in `/` (e.g. `datasets/`). */
  DATASET_STORE_S3_PREFIX: Type.String({ default: "" }),
  /** Static credentials; when both are empty the SDK's default chain (env, web identity, instance role) is used. */
  DATASET_STORE_S3_ACCESS_KEY_ID: Type.String({ default: "" }),
  /** Secret: never logged (loadConfig censors it in its errors; the logger redacts the name). */
  DATASET_STORE_S3_SECRET_ACCESS_KEY: Type.String({ default: "" }),
  /** Path-style URLs (`endpoint/bucket/key`), needed by most S3-compatible servers. */
  DATASET_STORE_S3_FORCE_PATH_STYLE: Type.Boolean({ default: false }),
  /** Multipart part size in MiB; a write holds about three parts in memory. */
  DATASET_STORE_S3_PART_SIZE_MB: Type.Integer({ default: 8, minimum: 5, maximum: 512 }),
  /**
   * Threads that hash the bytes of large writes (32 MiB or more expected, or of unknown size past
   * 1 MiB) beside the event loop (with two or more, a lone write's sha256 and md5 run at once, in
   * two threads); 0: hash on the event loop.
   */
  DATASET_STORE_HASH_THREADS: Type.Integer({ default: 2, minimum: 0, maximum: 16 }),
};

/** The settings as a schema of their own (e.g. for a tool that opens only the store). */
export const DatasetStoreConfigSchema = Type.Object(DatasetStoreConfig);
export type DatasetStoreConfig = Static<typeof DatasetStoreConfigSchema>;

export interface CreateDatasetStoreOptions {
  /** Open for reading only: write and delete throw DATASET_STORE_READ_ONLY (the transfer workers). */
  readOnly?: boolean;
  logger?: Logger;
}

/**
 * Opens the configured dataset store. `file`: creates the directory unless read-only.
 * `s3`: checks that the bucket exists.
 * @throws DATASET_STORE_CONFIG_INVALID naming the missing or wrong setting.
 */
export async function createDatasetStore(config: DatasetStoreConfig, options: CreateDatasetStoreOptions = {}): Promise<DatasetStore> {
  const { readOnly = false, logger } = options;
  if (config.DATASET_STORE === "file") {
    logger?.info({ dataset_store: "file", dir: config.DATASET_STORE_DIR, read_only: readOnly }, "dataset store opened");
    return createFileDatasetStore({ dir: config.DATASET_STORE_DIR, readOnly, hashThreads: config.DATASET_STORE_HASH_THREADS, ...(logger ? { logger } : {}) });
  }
  if (!config.DATASET_STORE_S3_BUCKET) throw configInvalid("DATASET_STORE_S3_BUCKET is required when DATASET_STORE=s3.");
  const id = config.DATASET_STORE_S3_ACCESS_KEY_ID;
  const secret = config.DATASET_STORE_S3_SECRET_ACCESS_KEY;
  if (Boolean(id) !== Boolean(secret)) {
    throw configInvalid("Set both DATASET_STORE_S3_ACCESS_KEY_ID and DATASET_STORE_S3_SECRET_ACCESS_KEY, or neither (the SDK's default credentials).");
  }
  const store = await createS3DatasetStore({
    bucket: config.DATASET_STORE_S3_BUCKET,
    prefix: config.DATASET_STORE_S3_PREFIX,
    region: config.DATASET_STORE_S3_REGION,
    ...(config.DATASET_STORE_S3_ENDPOINT ? { endpoint: config.DATASET_STORE_S3_ENDPOINT } : {}),
    forcePathStyle: config.DATASET_STORE_S3_FORCE_PATH_STYLE,
    ...(id && secret ? { credentials: { accessKeyId: id, secretAccessKey: secret } } : {}),
    partSize: config.DATASET_STORE_S3_PART_SIZE_MB * 1024 * 1024,
    readOnly,
    hashThreads: config.DATASET_STORE_HASH_THREADS,
    ...(logger ? { logger } : {}),
  });
  logger?.info({ dataset_store: "s3", bucket: config.DATASET_STORE_S3_BUCKET, endpoint: config.DATASET_STORE_S3_ENDPOINT || undefined, read_only: readOnly }, "dataset store opened");
  return store;
}
