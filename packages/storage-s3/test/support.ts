import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
} from "@aws-sdk/client-s3";
import { stackVar } from "@skyferry/storage/contract-suite";
import type { S3StoreOptions } from "../src/index.ts";

/** The stack's radosgw, as store options (static credentials). */
export function rgwOptions(): S3StoreOptions {
  return {
    region: stackVar("S3_REGION"),
    endpoint: stackVar("S3_ENDPOINT"),
    forcePathStyle: true,
    credentials: { accessKeyId: stackVar("S3_ACCESS_KEY_ID"), secretAccessKey: stackVar("S3_SECRET_ACCESS_KEY") },
  };
}

/** A plain SDK client for setup and independent checks (not the adapter under test). */
export function adminClient(): S3Client {
  const o = rgwOptions();
  return new S3Client({
    region: o.region,
    endpoint: o.endpoint,
    forcePathStyle: true,
    credentials: o.credentials as { accessKeyId: string; secretAccessKey: string },
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
}

export async function createBucket(client: S3Client, name: string): Promise<void> {
  await client.send(new CreateBucketCommand({ Bucket: name }));
}

/** Empties (objects and unfinished uploads) and deletes a bucket. */
export async function deleteBucket(client: S3Client, name: string): Promise<void> {
  for (;;) {
    const page = await client.send(new ListObjectsV2Command({ Bucket: name }));
    const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
    if (keys.length === 0) break;
    await client.send(new DeleteObjectsCommand({ Bucket: name, Delete: { Objects: keys } }));
  }
  const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: name }));
  for (const u of uploads.Uploads ?? []) {
    await client.send(new AbortMultipartUploadCommand({ Bucket: name, Key: u.Key!, UploadId: u.UploadId! }));
  }
  await client.send(new DeleteBucketCommand({ Bucket: name }));
}
