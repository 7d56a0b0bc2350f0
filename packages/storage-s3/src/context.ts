import type { S3Client } from "@aws-sdk/client-s3";
import { toStorageError } from "./errors.ts";

/** What the store's operations share: the client and the resolved options. */
export interface S3Context {
  client: S3Client;
  partSize: number;
  concurrency: number;
  createOnlyMultipart: "native" | "claim";
  etagIsMd5: boolean;
}

/** Runs one SDK call, wrapping whatever it throws as a StorageError. */
export async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toStorageError(err, what);
  }
}
