import { createHash } from "node:crypto";
import { UploadPartCommand } from "@aws-sdk/client-s3";
import {
  forEachBounded,
  isStorageError,
  openBody,
  readParts,
  StorageError,
  type BodyPart,
  type PartPlan,
  type PutInput,
  type PutResult,
} from "@skyferry/storage";
import { call, type S3Context } from "./context.ts";
import { completeUpload, refuseExisting } from "./create-only.ts";
import { cleanEtag, multipartEtag } from "./etag.ts";
import { checkDigests, objectMetadata } from "./digests.ts";
import { abortQuietly, locateUpload, type StoredPart } from "./uploads.ts";
import { verifyCommitted } from "./verify.ts";

interface SentParts {
  etags: string[];
  partMd5s: Buffer[];
  sha256: string;
  md5: string | undefined;
  uploaded: number;
}

/**
 * Multipart put: create (or resume) the upload, send the parts with bounded concurrency, check the
 * whole-object digests, complete (create-only if asked) and verify the committed object.
 */
export async function putMultipart(ctx: S3Context, input: PutInput, plan: PartPlan, sha256: string): Promise<PutResult> {
  const { bucket, key } = input;
  if (input.ifNoneMatch) await refuseExisting(ctx, input);
  const { uploadId, stored } = await locateUpload(ctx, input, objectMetadata(input, sha256));
  let sent: SentParts;
  try {
    sent = await sendParts(ctx, input, plan, uploadId, stored);
    checkDigests({ ...input, sha256 }, sent.sha256, sent.md5);
  } catch (err) {
    // Wrong bytes make the stored parts useless; any other failure leaves them for `resume`.
    if (isStorageError(err, "INTEGRITY")) await abortQuietly(ctx, bucket, key, uploadId);
    throw err;
  }
  await completeUpload(ctx, input, uploadId, sent.etags);
  const v = await verifyCommitted(ctx, bucket, key, { size: input.size, sha256, etag: multipartEtag(sent.partMd5s) });
  return { bucket, key, size: input.size, sha256, partsUploaded: sent.uploaded, ...(sent.md5 ? { md5: sent.md5 } : {}), ...v };
}

async function sendParts(ctx: S3Context, input: PutInput, plan: PartPlan, uploadId: string, stored: Map<number, StoredPart>): Promise<SentParts> {
  const sha = createHash("sha256");
  const md5All = input.md5 ? createHash("md5") : undefined;
  const out: SentParts = { etags: [], partMd5s: [], sha256: "", md5: undefined, uploaded: 0 };
  const recorded = new Map((input.resume?.parts ?? []).map((p) => [p.number, cleanEtag(p.etag)]));
  const internal = new AbortController();
  const signal = input.signal ? AbortSignal.any([input.signal, internal.signal]) : internal.signal;
  const body = await openBody(input.body);
  let bytesDone = 0;
  const done = (n: number): void => {
    bytesDone += n;
    input.onProgress?.(bytesDone);
  };
  // Buffers of parts already sent, read into again (see readParts).
  const reuse: Buffer[] = [];
  const recycle = (p: BodyPart): void => {
    if (p.data.length === plan.partSize && reuse.length <= (input.concurrency ?? ctx.concurrency)) reuse.push(p.data);
  };
  async function* hashed(): AsyncGenerator<BodyPart> {
    for await (const p of readParts(body, input.size, plan.partSize, { reuse, ...(input.signal ? { signal: input.signal } : {}) })) {
      sha.update(p.data);
      md5All?.update(p.data);
      yield p;
    }
  }
  const sendOne = async (p: BodyPart): Promise<void> => {
    const md5 = createHash("md5").update(p.data).digest();
    const hex = md5.toString("hex");
    out.partMd5s[p.number - 1] = md5;
    const have = stored.get(p.number);
    const expected = ctx.etagIsMd5 ? hex : recorded.get(p.number);
    if (have && have.size === p.data.length && cleanEtag(have.etag) === expected) {
      out.etags[p.number - 1] = have.etag;
      done(p.data.length);
      return recycle(p);
    }
    const r = await call("UploadPart", () =>
      ctx.client.send(
        new UploadPartCommand({
          Bucket: input.bucket,
          Key: input.key,
          UploadId: uploadId,
          PartNumber: p.number,
          Body: p.data,
          ContentLength: p.data.length,
          ContentMD5: md5.toString("base64"),
        }),
        { abortSignal: signal },
      ),
    );
    const etag = cleanEtag(r.ETag);
    if (ctx.etagIsMd5 && etag !== hex) {
      throw new StorageError("INTEGRITY", `part ${p.number}: server ETag ${etag} != md5 ${hex}`, { providerReason: "PartEtagMismatch" });
    }
    out.etags[p.number - 1] = etag;
    out.uploaded += 1;
    await input.onPartDone?.({ number: p.number, etag, size: p.data.length, md5: hex });
    done(p.data.length);
    recycle(p); // sent and answered: the request no longer holds the buffer
  };
  await forEachBounded(hashed(), input.concurrency ?? ctx.concurrency, sendOne, {
    ...(input.signal ? { signal: input.signal } : {}),
    // A failing body leaves the parts in flight to finish (they are good data for `resume`).
    onFailure: (err) => {
      if (!isStorageError(err, "SOURCE")) internal.abort();
    },
  });
  out.sha256 = sha.digest("hex");
  out.md5 = md5All?.digest("hex");
  return out;
}
