import type { S3Client } from "@aws-sdk/client-s3";
import type { DirectPut } from "./direct-put.ts";
import { toStorageError } from "./errors.ts";

/** What the store's operations share: the client and the resolved options. */
export interface S3Context {
  client: S3Client;
  /** One-PUT uploads without the SDK's middleware (`createDirectPut`); absent when disabled. */
  direct?: DirectPut;
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
