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
  const started = Date.now();
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
  ).catch(async (err: unknown) => {
    await abortLostUploads(ctx, input.bucket, input.key, started, undefined);
    throw err;
  });
  // Retried by the SDK: an earlier try may have created an upload whose answer was lost.
  if ((r.$metadata.attempts ?? 1) > 1) await abortLostUploads(ctx, input.bucket, input.key, started, r.UploadId);
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

/** Clock difference allowed between this host and the server when matching an upload's `Initiated`. */
const CLOCK_SKEW_MS = 5000;

/**
 * Aborts the uploads of `key` the server initiated while our CreateMultipartUpload was in flight,
 * except `keep`: a try whose answer was lost (a reset, a 500 after the server acted) created one
 * that nobody knows of, and it would hold its parts at the provider until a lifecycle rule removes
 * it (issue 25: the fault proxy's lost answers left one per lost answer). Another writer starting an
 * upload of the same key in those seconds would lose it too; a job's key is its own, so that is
 * two sends of one dataset to one key at once. Best effort: a failure to list or abort is ignored.
 */
async function abortLostUploads(ctx: S3Context, bucket: string, key: string, started: number, keep: string | undefined): Promise<void> {
  try {
    const from = started - CLOCK_SKEW_MS;
    const to = Date.now() + CLOCK_SKEW_MS;
    const lost = (await listKeyUploads(ctx, bucket, key, new Date(from))).filter((u) => u.uploadId !== keep && u.started.getTime() <= to);
    for (const u of lost) await abortQuietly(ctx, bucket, key, u.uploadId);
  } catch {
    // housekeeping only: the upload's own outcome stands
  }
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
