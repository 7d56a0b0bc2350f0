import type { BlockBlobClient } from "@azure/storage-blob";
import { StorageError } from "@skyferry/storage";
import { call } from "./errors.ts";

/**
 * Reads the committed blob's properties and compares size, Content-MD5 and sha256 metadata with
 * what was sent. @throws StorageError INTEGRITY on any difference.
 */
export async function verifyCommitted(
  blob: BlockBlobClient,
  expected: { size: number; sha256: string; md5: Buffer },
): Promise<{ etag: string; versionId?: string }> {
  const p = await call("getProperties", () => blob.getProperties());
  const problems: string[] = [];
  if (p.contentLength !== expected.size) problems.push(`size ${p.contentLength} != ${expected.size}`);
  if (p.metadata?.sha256 !== expected.sha256) problems.push(`sha256 metadata ${p.metadata?.sha256} != ${expected.sha256}`);
  const md5 = p.contentMD5 ? Buffer.from(p.contentMD5).toString("hex") : undefined;
  if (md5 !== expected.md5.toString("hex")) problems.push(`Content-MD5 ${md5} != ${expected.md5.toString("hex")}`);
  if (problems.length > 0) {
    throw new StorageError("INTEGRITY", `${blob.url.split("?")[0]} differs from what was sent: ${problems.join("; ")}`, { providerReason: "VerifyAfterCommit" });
  }
  return { etag: (p.etag ?? "").replace(/"/g, ""), ...(p.versionId ? { versionId: p.versionId } : {}) };
}
