import { randomBytes } from "node:crypto";
import type { ObjectStore } from "@skyferry/storage";
import type { JobDoc, UploadIntent } from "../jobs/job-doc.ts";
import type { JobRepository } from "../jobs/repository.ts";

/**
 * How far the provider's clock may be behind the worker's: an upload the provider says it started
 * up to this long before its intent was written is still taken for the intent's. Wider catches
 * more skew, and only widens the window in which a writer that is no skyferry job (it records no
 * intent) could have its upload of the very same key taken for an orphan.
 */
export const PROVIDER_CLOCK_SKEW_MS = 60_000;

/** A new intent to start a multipart upload of `key`, as of `now`. */
export function newIntent(key: string, now: Date): UploadIntent {
  return { id: randomBytes(6).toString("hex"), key, since: now };
}

export interface SettledIntents {
  /** Intents whose key holds no unrecorded upload any more (any found were aborted): removed from the job. */
  settled: UploadIntent[];
  /** Intents kept: another running job intends an upload of the same key, so its upload cannot be told from an orphan yet. */
  kept: UploadIntent[];
  /** Provider upload ids aborted. */
  aborted: string[];
}

/**
 * Settles a job's upload intents (issue 25, write-ahead of multipart uploads): an intent left on
 * the job is an upload that may exist at the provider with its id recorded nowhere, because the
 * worker that started it died or lost the database before it could record it. For each key the
 * job intended, the provider's unfinished uploads of exactly that key started since the intent
 * (less the clock skew) are listed, and those no job records as its upload are aborted.
 *
 * Why an upload no job records is this job's orphan and nobody's live upload: every skyferry
 * worker writes its intent before it starts an upload, and removes it only in the same update that
 * records the upload's id. The uploads are listed first and the database asked afterwards, so an
 * upload listed was started after its intent was written, before the question: its job then either
 * records it (left alone), or still holds the intent -- and when that is another running job, the
 * upload may be its live one, not yet recorded, so nothing on that key is aborted and the intent
 * is kept for a later attempt or the job's end -- or has ended, so the upload is nobody's.
 * The caller holds the job's claim: no other attempt of this job starts an upload meanwhile.
 */
export async function settleUploadIntents(
  job: Pick<JobDoc, "_id" | "bucket">,
  intents: readonly UploadIntent[],
  store: Pick<ObjectStore, "listUploads" | "abort">,
  jobs: Pick<JobRepository, "recordedUploads" | "othersIntend">,
): Promise<SettledIntents> {
  const out: SettledIntents = { settled: [], kept: [], aborted: [] };
  const byKey = new Map<string, UploadIntent[]>();
  for (const i of intents) byKey.set(i.key, [...(byKey.get(i.key) ?? []), i]);
  for (const [key, mine] of byKey) {
    const since = Math.min(...mine.map((i) => i.since.getTime())) - PROVIDER_CLOCK_SKEW_MS;
    const uploads = await store.listUploads(job.bucket, key, { startedAfter: new Date(since) });
    const recorded = await jobs.recordedUploads(uploads.map((u) => u.uploadId));
    const orphans = uploads.filter((u) => !recorded.has(u.uploadId));
    if (orphans.length > 0 && (await jobs.othersIntend(job.bucket, key, job._id))) {
      out.kept.push(...mine);
      continue;
    }
    for (const u of orphans) {
      await store.abort(job.bucket, key, u.uploadId);
      out.aborted.push(u.uploadId);
    }
    out.settled.push(...mine);
  }
  return out;
}
