import type { Readable } from "node:stream";
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
} from "@aws-sdk/client-s3";
import {
  abortedError, isStorageError, readInRangesOrWhole, StorageError, type GetOptions, type ListOptions, type ListPage, type ObjectInfo, type RangeRead,
} from "@skyferry/storage";
import { call, type S3Context } from "./context.ts";
import { claimOf } from "./create-only.ts";
import { cleanEtag, isMd5Etag } from "./etag.ts";
import { abortUpload } from "./uploads.ts";

interface HeadLike {
  ContentLength?: number;
  ETag?: string;
  LastModified?: Date;
  ContentType?: string;
  Metadata?: Record<string, string>;
}

function toInfo(ctx: S3Context, key: string, h: HeadLike, size = h.ContentLength ?? 0): ObjectInfo {
  const etag = cleanEtag(h.ETag);
  return {
    key,
    size,
    etag,
    ...(h.LastModified ? { lastModified: h.LastModified } : {}),
    ...(h.ContentType ? { contentType: h.ContentType } : {}),
    ...(ctx.etagIsMd5 && isMd5Etag(etag) ? { md5: etag } : {}),
    metadata: { ...h.Metadata },
  };
}

/** A HEAD answers 404 without saying whether the key or the bucket is missing: ask the bucket. */
async function assertBucket(ctx: S3Context, bucket: string): Promise<void> {
  if (!(await bucketExists(ctx, bucket))) throw new StorageError("NOT_FOUND", `S3 bucket ${bucket} does not exist`, { providerReason: "NoSuchBucket" });
}

export async function headObject(ctx: S3Context, bucket: string, key: string): Promise<ObjectInfo | null> {
  try {
    const h = await call("HeadObject", () => ctx.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key })));
    return toInfo(ctx, key, h);
  } catch (err) {
    if (!isStorageError(err, "NOT_FOUND")) throw err;
    await assertBucket(ctx, bucket);
    return null;
  }
}

export async function getObject(
  ctx: S3Context,
  bucket: string,
  key: string,
  range?: { start: number; end?: number },
  options: GetOptions = {},
): Promise<{ info: ObjectInfo; body: Readable }> {
  const read: RangeRead = (span, ifMatch, signal) => readObject(ctx, bucket, key, span, ifMatch, signal);
  return readInRangesOrWhole(read, range, options);
}

/** One GetObject; the ETag of a ranged answer is still the whole object's (an MD5 for a single-part one). */
async function readObject(
  ctx: S3Context,
  bucket: string,
  key: string,
  range: { start: number; end?: number } | undefined,
  ifMatch: string | undefined,
  signal: AbortSignal | undefined,
): Promise<{ info: ObjectInfo; body: Readable }> {
  const Range = range ? `bytes=${range.start}-${range.end ?? ""}` : undefined;
  const input = { Bucket: bucket, Key: key, ...(Range ? { Range } : {}), ...(ifMatch ? { IfMatch: `"${ifMatch}"` } : {}) };
  if (signal?.aborted) throw abortedError(signal);
  const r = await call("GetObject", () => ctx.client.send(new GetObjectCommand(input), signal ? { abortSignal: signal } : {}));
  const total = r.ContentRange ? Number(r.ContentRange.split("/")[1]) : r.ContentLength;
  return { info: toInfo(ctx, key, r, total ?? 0), body: r.Body as Readable };
}

export async function listObjects(ctx: S3Context, bucket: string, options: ListOptions = {}): Promise<ListPage> {
  const r = await call("ListObjectsV2", () =>
    ctx.client.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        ...(options.prefix ? { Prefix: options.prefix } : {}),
        ...(options.delimiter ? { Delimiter: options.delimiter } : {}),
        ...(options.limit ? { MaxKeys: options.limit } : {}),
        ...(options.cursor ? { ContinuationToken: options.cursor } : {}),
      }),
    ),
  );
  return {
    objects: (r.Contents ?? []).map((o) => ({
      key: o.Key ?? "",
      size: o.Size ?? 0,
      etag: cleanEtag(o.ETag),
      ...(o.LastModified ? { lastModified: o.LastModified } : {}),
    })),
    prefixes: (r.CommonPrefixes ?? []).flatMap((p) => (p.Prefix ? [p.Prefix] : [])),
    ...(r.IsTruncated && r.NextContinuationToken ? { cursor: r.NextContinuationToken } : {}),
  };
}

/** Aborts the upload, and removes a create-only claim it left at `key` ("claim" mode). */
export async function abortObjectUpload(ctx: S3Context, bucket: string, key: string, uploadId: string): Promise<void> {
  await abortUpload(ctx, bucket, key, uploadId);
  try {
    // A non-create-only write landing between this head and the delete would be lost (documented).
    if ((await claimOf(ctx, bucket, key)) === uploadId) await deleteObject(ctx, bucket, key);
  } catch (err) {
    if (!isStorageError(err, "NOT_FOUND")) throw err;
  }
}

export async function deleteObject(ctx: S3Context, bucket: string, key: string): Promise<void> {
  await call("DeleteObject", () => ctx.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })));
}

export async function bucketExists(ctx: S3Context, bucket: string): Promise<boolean> {
  try {
    await call("HeadBucket", () => ctx.client.send(new HeadBucketCommand({ Bucket: bucket })));
    return true;
  } catch (err) {
    if (isStorageError(err, "NOT_FOUND")) return false;
    if (!isStorageError(err, "ACCESS_DENIED") && !isStorageError(err, "INVALID_CREDENTIALS")) throw err;
    // HEAD has no body to say why: a one-key listing tells InvalidAccessKeyId from AccessDenied.
    await listObjects(ctx, bucket, { limit: 1 });
    return true;
  }
}
