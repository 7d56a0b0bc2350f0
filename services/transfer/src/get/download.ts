import { pipeline } from "node:stream/promises";
import type { Readable, Transform } from "node:stream";
import { type DatasetStore, isDatasetStoreError } from "@skyferry/dataset-store";
import { SNIFF_BYTES, sniffDatatype } from "@skyferry/datatypes";
import { isSkyferryError, SkyferryError } from "@skyferry/errors";
import { type GetOptions, isStorageError, type ObjectStore } from "@skyferry/storage";
import type { JobDoc } from "../jobs/job-doc.ts";
import { integrityMismatch, objectChanged } from "./errors.ts";
import { DigestTap, HeadCapture, peekOf, SpaceToTab, ToPosixLines } from "./transforms.ts";

/** The dataset as stored (after any transform), and the object's own size, the bytes transferred. */
export interface Downloaded { dataset: { size: number; sha256: string; md5: string; ext: string; peek?: string }; objectBytes: number }

/**
 * One download attempt: provider -> (digest of the raw bytes) -> transforms -> head capture ->
 * dataset store. With `parallel`, the provider is read as ranged GETs in parallel, delivered in
 * order (the adapter's `get` option). The bytes are checked against the object's size, its MD5
 * where the provider tells it (single-part objects) and the sha256 skyferry wrote as metadata.
 */
export async function download(
  job: JobDoc,
  store: ObjectStore,
  datasets: DatasetStore,
  onBytes: (n: number) => void,
  signal: AbortSignal,
  parallel?: GetOptions["parallel"],
): Promise<Downloaded> {
  const spec = job.get!;
  let got: Awaited<ReturnType<ObjectStore["get"]>>;
  try {
    got = await store.get(job.bucket, job.object_key, undefined, parallel ? { parallel, signal } : { signal });
  } catch (err) {
    if (isStorageError(err, "NOT_FOUND")) throw objectChanged(job.object_key);
    throw err;
  }
  const transformed = spec.to_posix_lines || spec.space_to_tab;
  // Untransformed bytes are stored as read: the store's own digests are those of the object, so
  // they are hashed once, by the store; transformed ones are hashed here too, before the change.
  const raw = new DigestTap(onBytes, { hash: transformed });
  const head = new HeadCapture(SNIFF_BYTES);
  const stages: Transform[] = [raw];
  if (spec.to_posix_lines) stages.push(new ToPosixLines());
  if (spec.space_to_tab) stages.push(new SpaceToTab());
  stages.push(head);
  const stored = datasets.write(job.store_key, head, { signal, expectedSize: got.info.size });
  // A write that fails first (store unavailable) must also stop the download.
  stored.catch((err: unknown) => head.destroy(err instanceof Error ? err : new Error(String(err))));
  const piped = pipeline([got.body, ...stages] as unknown as [Readable, ...Transform[]], { signal });
  // Both settle before the outcome is known: the store's write rejects (and leaves nothing) when the pipeline fails.
  const [w, p] = await Promise.allSettled([stored, piped]);
  const sourceSide = (e: unknown) => isDatasetStoreError(e, "DATASET_STORE_SOURCE") || isDatasetStoreError(e, "DATASET_STORE_ABORTED");
  if (w.status === "rejected" && !sourceSide(w.reason)) throw w.reason;
  if (p.status === "rejected") throw readFailed(job.object_key, p.reason);
  if (w.status === "rejected") throw w.reason;
  const blob = w.value;
  const rawDigests = transformed ? raw.digests() : { sha256: blob.sha256, md5: blob.md5 };
  const { info } = got;
  if (raw.bytes !== info.size) throw integrityMismatch(`${raw.bytes} bytes read, the object has ${info.size}.`);
  if (info.md5 && info.md5.toLowerCase() !== rawDigests.md5) throw integrityMismatch(`md5 ${rawDigests.md5}, the provider says ${info.md5}.`);
  const sha = info.metadata.sha256;
  if (sha && /^[0-9a-f]{64}$/i.test(sha) && sha.toLowerCase() !== rawDigests.sha256) throw integrityMismatch(`sha256 ${rawDigests.sha256}, the object's metadata says ${sha}.`);
  const bytes = head.head();
  const ext = spec.file_type ?? sniffDatatype({ name: job.object_key, head: bytes, complete: bytes.length >= blob.size }).ext;
  const peek = peekOf(bytes);
  return { dataset: { size: blob.size, sha256: blob.sha256, md5: blob.md5, ext, ...(peek ? { peek } : {}) }, objectBytes: raw.bytes };
}

/** A failure while reading the provider's body (a reset, a timeout, the object replaced mid-read) is worth another attempt. */
function readFailed(key: string, err: unknown): unknown {
  if (isSkyferryError(err)) return err;
  if (err instanceof Error && err.name === "AbortError") return err;
  return new SkyferryError("XFER_GET_READ", `Reading the object '${key.slice(0, 200)}' failed: ${err instanceof Error ? err.message : String(err)}`, { status: 503, retryable: true, cause: err });
}
