import { StorageError, type PutInput } from "@skyferry/storage";

/** Storage metadata for a put: the caller's, plus the whole object's sha256. */
export function objectMetadata(input: PutInput, sha256: string): Record<string, string> {
  return { ...input.metadata, sha256 };
}

/** Compares the digests of the bytes read with the declared ones. @throws StorageError INTEGRITY */
export function checkDigests(input: PutInput, sha256: string, md5: string | undefined): void {
  if (input.sha256 && input.sha256.toLowerCase() !== sha256) {
    throw new StorageError("INTEGRITY", `body sha256 ${sha256} differs from the declared ${input.sha256}`, { providerReason: "Sha256Mismatch" });
  }
  if (input.md5 && md5 !== undefined && input.md5.toLowerCase() !== md5) {
    throw new StorageError("INTEGRITY", `body md5 ${md5} differs from the declared ${input.md5}`, { providerReason: "Md5Mismatch" });
  }
}
