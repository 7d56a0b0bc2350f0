import { randomBytes } from "node:crypto";
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
} from "@aws-sdk/client-s3";
import { createS3DatasetStore } from "../src/index.ts";
import { runDatasetStoreContract } from "./contract-suite.ts";
import { stackS3 } from "./stack.ts";

const s3 = stackS3();
const bucket = `sf-dataset-store-${randomBytes(4).toString("hex")}`;
// An independent client for setup and for looking behind the store's back.
const admin = new S3Client({
  region: s3.region,
  endpoint: s3.endpoint,
  forcePathStyle: true,
  credentials: s3.credentials,
  requestChecksumCalculation: "WHEN_REQUIRED",
  responseChecksumValidation: "WHEN_REQUIRED",
});

async function unfinishedUploads(): Promise<string[]> {
  const r = await admin.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  return (r.Uploads ?? []).map((u) => `multipart upload ${u.Key} ${u.UploadId}`);
}

async function emptyAndDelete(): Promise<void> {
  for (;;) {
    const page = await admin.send(new ListObjectsV2Command({ Bucket: bucket }));
    const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
    if (keys.length === 0) break;
    await admin.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys } }));
  }
  const uploads = await admin.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  for (const u of uploads.Uploads ?? []) await admin.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.Key!, UploadId: u.UploadId! }));
  await admin.send(new DeleteBucketCommand({ Bucket: bucket }));
  admin.destroy();
}

runDatasetStoreContract("s3 (radosgw)", {
  setup: async () => void (await admin.send(new CreateBucketCommand({ Bucket: bucket }))),
  teardown: emptyAndDelete,
  open: ({ readOnly }) =>
    createS3DatasetStore({ bucket, prefix: "datasets/", region: s3.region, endpoint: s3.endpoint, forcePathStyle: true, credentials: s3.credentials, partSize: 5 * 1024 * 1024, readOnly, hashThreads: 1 }),
  leftovers: unfinishedUploads,
  // Three 5 MiB parts: the multipart path, with a part in flight when limits and aborts hit.
  bigEnough: 12 * 1024 * 1024,
  positionalReads: false,
});
