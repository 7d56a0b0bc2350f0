import { createHash } from "node:crypto";

/** An ETag without quotes, lower-cased. */
export function cleanEtag(etag: string | undefined): string {
  return (etag ?? "").replace(/^W\//, "").replace(/"/g, "").toLowerCase();
}

/** The ETag S3 gives a multipart object: md5 of the concatenated binary part MD5s, `-`, part count. */
export function multipartEtag(partMd5s: readonly Buffer[]): string {
  const h = createHash("md5");
  for (const m of partMd5s) h.update(m);
  return `${h.digest("hex")}-${partMd5s.length}`;
}

/** True when an ETag looks like a plain MD5 (single-part upload, no KMS/SSE-C). */
export function isMd5Etag(etag: string): boolean {
  return /^[0-9a-f]{32}$/.test(etag);
}
