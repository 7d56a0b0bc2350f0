import { AbortMultipartUploadCommand, CreateMultipartUploadCommand, ListMultipartUploadsCommand, ListPartsCommand } from "@aws-sdk/client-s3";
import { isStorageError, StorageError, type PendingUpload, type PutInput } from "@skyferry/storage";
import { call, type S3Context } from "./context.ts";

/** A part the server holds for an upload. */
export interface StoredPart {
  etag: string;
  size: number;
}

/**
 * Finds the upload to continue: `input.resume`'s, with the parts the server lists for it, or a new
 * one (announced through `onUploadStarted`) when there is none or the server no longer knows it.
 */
export async function locateUpload(
  ctx: S3Context,
  input: PutInput,
  metadata: Record<string, string>,
): Promise<{ uploadId: string; stored: Map<number, StoredPart> }> {
  if (input.resume) {
    try {
      return { uploadId: input.resume.uploadId, stored: await listStoredParts(ctx, input.bucket, input.key, input.resume.uploadId) };
    } catch (err) {
      // NoSuchUpload: aborted, expired or already completed. A missing bucket fails again below.
      if (!isStorageError(err, "NOT_FOUND")) throw err;
    }
  }
  // Write-ahead: the caller records that an upload is about to exist before it does.
  await input.onUploadStarting?.();
  const r = await call("CreateMultipartUpload", () =>
    ctx.client.send(
      new CreateMultipartUploadCommand({
        Bucket: input.bucket,
        Key: input.key,
        Metadata: metadata,
        ...(input.contentType ? { ContentType: input.contentType } : {}),
        ...(input.storageClass ? { StorageClass: input.storageClass as never } : {}),
      }),
      { abortSignal: input.signal },
    ),
  );
  if (!r.UploadId) throw new StorageError("UNKNOWN", "S3 CreateMultipartUpload returned no upload id");
  await input.onUploadStarted?.(r.UploadId);
  return { uploadId: r.UploadId, stored: new Map() };
}

/** Every part the server holds for an upload (ListParts, all pages). @throws StorageError NOT_FOUND for an unknown upload. */
export async function listStoredParts(ctx: S3Context, bucket: string, key: string, uploadId: string): Promise<Map<number, StoredPart>> {
  const out = new Map<number, StoredPart>();
  let marker: string | undefined;
  do {
    const r = await call("ListParts", () =>
      ctx.client.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: uploadId, ...(marker ? { PartNumberMarker: marker } : {}) })),
    );
    for (const p of r.Parts ?? []) {
      if (p.PartNumber !== undefined && p.ETag) out.set(p.PartNumber, { etag: p.ETag, size: p.Size ?? -1 });
    }
    marker = r.IsTruncated && r.NextPartNumberMarker ? r.NextPartNumberMarker : undefined;
  } while (marker);
  return out;
}

/** AbortMultipartUpload; an unknown upload (or bucket) counts as aborted. */
export async function abortUpload(ctx: S3Context, bucket: string, key: string, uploadId: string): Promise<void> {
  try {
    await call("AbortMultipartUpload", () => ctx.client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId })));
  } catch (err) {
    if (!isStorageError(err, "NOT_FOUND")) throw err;
  }
}

/** Abandons an upload after a failure that makes it useless; never masks the original error. */
export async function abortQuietly(ctx: S3Context, bucket: string, key: string, uploadId: string): Promise<void> {
  await abortUpload(ctx, bucket, key, uploadId).catch(() => undefined);
}

/**
 * ListMultipartUploads under the key as a prefix (all pages), keeping the uploads of exactly that
 * key started at or after `startedAfter`.
 */
export async function listKeyUploads(ctx: S3Context, bucket: string, key: string, startedAfter?: Date): Promise<PendingUpload[]> {
  const out: PendingUpload[] = [];
  let markers: { KeyMarker: string; UploadIdMarker: string } | undefined;
  do {
    const r = await call("ListMultipartUploads", () => ctx.client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: key, ...markers })));
    for (const u of r.Uploads ?? []) {
      if (u.Key !== key || !u.UploadId || !u.Initiated) continue;
      if (startedAfter && u.Initiated.getTime() < startedAfter.getTime()) continue;
      out.push({ key, uploadId: u.UploadId, started: u.Initiated });
    }
    markers = r.IsTruncated && r.NextKeyMarker !== undefined && r.NextUploadIdMarker !== undefined ? { KeyMarker: r.NextKeyMarker, UploadIdMarker: r.NextUploadIdMarker } : undefined;
  } while (markers);
  return out;
}
