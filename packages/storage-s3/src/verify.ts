import { HeadObjectCommand } from "@aws-sdk/client-s3";
import { StorageError } from "@skyferry/storage";
import { call, type S3Context } from "./context.ts";
import { cleanEtag } from "./etag.ts";

/**
 * Reads the committed object back and compares its size, sha256 metadata and (when ETags are MD5s)
 * its ETag with what was sent. Returns the server's ETag and version.
 * @throws StorageError INTEGRITY on any difference.
 */
export async function verifyCommitted(
  ctx: S3Context,
  bucket: string,
  key: string,
  expected: { size: number; sha256: string; etag: string },
): Promise<{ etag: string; versionId?: string }> {
  const h = await call("HeadObject", () => ctx.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key })));
  const etag = cleanEtag(h.ETag);
  const problems: string[] = [];
  if (h.ContentLength !== expected.size) problems.push(`size ${h.ContentLength} != ${expected.size}`);
  if (h.Metadata?.sha256 !== expected.sha256) problems.push(`sha256 metadata ${h.Metadata?.sha256} != ${expected.sha256}`);
  if (ctx.etagIsMd5 && etag !== expected.etag) problems.push(`ETag ${etag} != ${expected.etag}`);
  if (problems.length > 0) {
    throw new StorageError("INTEGRITY", `s3://${bucket}/${key} differs from what was sent: ${problems.join("; ")}`, {
      providerReason: "VerifyAfterCommit",
    });
  }
  return { etag, ...(h.VersionId ? { versionId: h.VersionId } : {}) };
}
