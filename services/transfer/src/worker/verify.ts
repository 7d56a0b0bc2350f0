import type { PutResult } from "@skyferry/storage";
import { integrityFailed } from "../errors.ts";
import type { JobDoc } from "../jobs/job-doc.ts";

/**
 * A job is ok only when the object is really there and correct. The adapter reads the committed
 * object back (head: size, sha256 metadata, ETag/MD5) before it returns; this checks that what it
 * verified is what the history recorded for the dataset.
 */
export function verifyObject(job: JobDoc, result: PutResult): void {
  if (result.size !== job.bytes_total) throw integrityFailed(`size ${result.size}, expected ${job.bytes_total}.`);
  if (result.sha256.toLowerCase() !== job.checksum.sha256.toLowerCase()) {
    throw integrityFailed(`sha256 ${result.sha256}, expected ${job.checksum.sha256}.`);
  }
  if (result.md5 && result.md5.toLowerCase() !== job.checksum.md5.toLowerCase()) {
    throw integrityFailed(`md5 ${result.md5}, expected ${job.checksum.md5}.`);
  }
}
