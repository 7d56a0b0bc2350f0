export type { BlobReader, DatasetStore, StoredBlob, WriteOptions } from "./types.ts";
export { type CreateDatasetStoreOptions, createDatasetStore, DatasetStoreConfig, DatasetStoreConfigSchema } from "./config.ts";
export { createFileDatasetStore, type FileDatasetStoreOptions } from "./file-store.ts";
export { createS3DatasetStore, type S3DatasetStoreOptions } from "./s3-store.ts";
export { checkKey, shardedKey } from "./keys.ts";
export { DatasetStoreError, DatasetStoreErrorCode, isDatasetStoreError } from "./errors.ts";
