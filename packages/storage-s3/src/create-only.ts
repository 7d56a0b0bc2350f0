import { CompleteMultipartUploadCommand, HeadObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { isStorageError, StorageError, type PutInput } from "@skyferry/storage";
import { call, type S3Context } from "./context.ts";
import { cleanEtag } from "./etag.ts";
import { CLAIM_METADATA } from "./limits.ts";
import { abortQuietly } from "./uploads.ts";

/**
 * Completes a multipart upload, create-only when `input.ifNoneMatch` is set: natively
 * (`If-None-Match: *` on the completion) or by claiming the key first (see `claimKey`).
 * On ALREADY_EXISTS the upload is abandoned.
 */
export async function completeUpload(ctx: S3Context, input: PutInput, uploadId: string, etags: readonly string[]): Promise<void> {
  const native = input.ifNoneMatch === true && ctx.createOnlyMultipart === "native";
  if (input.ifNoneMatch && !native) await claimKey(ctx, input, uploadId);
  try {
    await call("CompleteMultipartUpload", () =>
      ctx.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: input.bucket,
          Key: input.key,
          UploadId: uploadId,
          MultipartUpload: { Parts: etags.map((e, i) => ({ PartNumber: i + 1, ETag: `"${cleanEtag(e)}"` })) },
          ...(native ? { IfNoneMatch: "*" } : {}),
        }),
        { abortSignal: input.signal },
      ),
    );
  } catch (err) {
    if (isStorageError(err, "ALREADY_EXISTS")) await abortQuietly(ctx, input.bucket, input.key, uploadId);
    throw err;
  }
}

/**
 * radosgw (Ceph 16) ignores `If-None-Match` on CompleteMultipartUpload but honours it atomically on
 * PutObject. So the key is claimed just before completing with a 0-byte PutObject carrying
 * `If-None-Match: *` and metadata naming the upload; the completion then replaces the claim.
 * Create-only writers exclude each other atomically. What remains: a writer that does NOT ask for
 * create-only and writes between the claim and the completion is overwritten by the completion;
 * and for that short window (or after a crash, until resumed or aborted) readers see the 0-byte
 * claim. A claim naming this same upload (left by an earlier attempt) counts as ours.
 */
async function claimKey(ctx: S3Context, input: PutInput, uploadId: string): Promise<void> {
  try {
    await call("PutObject (claim)", () =>
      ctx.client.send(
        new PutObjectCommand({
          Bucket: input.bucket,
          Key: input.key,
          Body: Buffer.alloc(0),
          ContentLength: 0,
          IfNoneMatch: "*",
          Metadata: { [CLAIM_METADATA]: uploadId },
        }),
        { abortSignal: input.signal },
      ),
    );
  } catch (err) {
    if (!isStorageError(err, "ALREADY_EXISTS")) throw err;
    if ((await claimOf(ctx, input.bucket, input.key)) === uploadId) return;
    await abortQuietly(ctx, input.bucket, input.key, uploadId);
    throw new StorageError("ALREADY_EXISTS", `s3://${input.bucket}/${input.key} already exists`, { providerReason: "PreconditionFailed", cause: err });
  }
}

/** The upload id of a claim object at `key`, or undefined when the key holds no claim. */
export async function claimOf(ctx: S3Context, bucket: string, key: string): Promise<string | undefined> {
  try {
    const h = await call("HeadObject", () => ctx.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key })));
    return h.ContentLength === 0 ? h.Metadata?.[CLAIM_METADATA] : undefined;
  } catch (err) {
    if (isStorageError(err, "NOT_FOUND")) return undefined;
    throw err;
  }
}

/**
 * Fails fast, before any part is sent, when a create-only put targets a key that already holds an
 * object (other than this upload's own claim). Only an early exit: the decision is the commit's.
 */
export async function refuseExisting(ctx: S3Context, input: PutInput): Promise<void> {
  try {
    const h = await call("HeadObject", () => ctx.client.send(new HeadObjectCommand({ Bucket: input.bucket, Key: input.key }), { abortSignal: input.signal }));
    const claim = h.ContentLength === 0 ? h.Metadata?.[CLAIM_METADATA] : undefined;
    if (claim !== undefined && claim === input.resume?.uploadId) return;
  } catch (err) {
    if (isStorageError(err, "NOT_FOUND")) return;
    throw err;
  }
  throw new StorageError("ALREADY_EXISTS", `s3://${input.bucket}/${input.key} already exists`, { providerReason: "PreconditionFailed" });
}
