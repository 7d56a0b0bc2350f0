import { pipeline } from "node:stream/promises";
import type { Readable, Transform } from "node:stream";
import type { Retry, WorkContext } from "@skyferry/bus";
import type { Actor } from "@skyferry/contracts";
import { type DatasetStore, isDatasetStoreError } from "@skyferry/dataset-store";
import { SNIFF_BYTES, sniffDatatype } from "@skyferry/datatypes";
import { isRetryable, isSkyferryError, SkyferryError } from "@skyferry/errors";
import type { Logger } from "@skyferry/logger";
import { isStorageError, type ObjectStore } from "@skyferry/storage";
import { jobFailedPermanently, providerReasonOf } from "../errors.ts";
import { isActive, type JobDoc } from "../jobs/job-doc.ts";
import type { JobRepository } from "../jobs/repository.ts";
import { throttle } from "../worker/throttle.ts";
import { integrityMismatch, objectChanged } from "./errors.ts";
import { DigestTap, HeadCapture, peekOf, SpaceToTab, ToPosixLines } from "./transforms.ts";

export interface GetRunnerDeps {
  jobs: JobRepository;
  /** The dataset store, writable: the downloaded bytes land here, atomically. */
  datasets: DatasetStore;
  openStore: (job: JobDoc) => Promise<ObjectStore>;
  history: {
    start(actor: Actor, itemId: string): Promise<void>;
    finish(req: { actor: Actor; item_id: string; store_key: string; size: number; sha256: string; md5: string; ext: string; peek?: string }): Promise<void>;
  };
  events: {
    progress(job: JobDoc, bytesDone: number): void;
    completed(job: JobDoc): void;
    /** Emits the failed event and marks the history item error (or deleted). */
    failed(job: JobDoc): void;
  };
  running: Map<string, AbortController>;
  instance: string;
  logger: Logger;
  progressIntervalMs: number;
}

/**
 * The work handler of a get job: streams the object from the provider into the dataset store
 * (never whole in memory), applying `to_posix_lines` / `space_to_tab` on the way, checks the
 * bytes against the provider's MD5 and the sha256 skyferry wrote when it sent the object, then
 * tells the history service the item is ok. A redelivered job (crash, nak) downloads again from
 * the start; the store's write is atomic, so no partial bytes are ever seen as a dataset.
 */
export function createGetRunner(deps: GetRunnerDeps) {
  return async function runGet(data: { job_id: string }, ctx: WorkContext): Promise<void | Retry> {
    const id = data.job_id;
    const cancel = new AbortController();
    deps.running.set(id, cancel);
    let store: ObjectStore | undefined;
    try {
      const found = await deps.jobs.get(id);
      if (!found || !isActive(found.state) || found.direction !== "get" || !found.get) return;
      const job = await deps.jobs.claim(id, deps.instance);
      if (!job) return;
      const actor = { user_id: job.user_id };
      const log = deps.logger.child({ job_id: id, user_id: job.user_id, attempt: job.attempts });
      const cancelled = async () => {
        const deleted = await deps.jobs.setDeleted(id);
        if (deleted) deps.events.failed(deleted);
        log.info("get cancelled");
      };
      if (await deps.jobs.isCancelled(id)) return await cancelled();
      const signal = AbortSignal.any([ctx.signal, cancel.signal]);
      const progress = throttle<number>(deps.progressIntervalMs, (bytes) => {
        deps.events.progress(job, bytes);
        deps.jobs.progress(id, bytes).catch((err: unknown) => log.warn({ err }, "progress not recorded"));
      }, { leading: false });
      try {
        await deps.history.start(actor, job.dataset_id);
        store = await deps.openStore(job);
        const out = await download(job, store, deps.datasets, (n) => progress.push(n), signal);
        progress.cancel();
        if (cancel.signal.aborted || (await deps.jobs.isCancelled(id))) {
          await deps.datasets.delete(job.store_key).catch((err: unknown) => log.warn({ err }, "could not remove a cancelled get's bytes"));
          return await cancelled();
        }
        await deps.history.finish({ actor, item_id: job.dataset_id, store_key: job.store_key, ...out });
        const done = await deps.jobs.complete(id, {
          object_key: job.object_key, outcome: "downloaded", bytes_done: out.size, attempts: job.attempts, checksum: { sha256: out.sha256, md5: out.md5 },
        });
        if (done) deps.events.completed(done);
        log.info({ object_key: job.object_key, bytes: out.size, ext: out.ext }, "get ok");
      } catch (err) {
        progress.cancel();
        if (cancel.signal.aborted) return await cancelled();
        if (ctx.signal.aborted) throw err; // shutting down: redelivered, downloaded again elsewhere
        const error = { code: isSkyferryError(err) ? err.code : "XFER_INTERNAL", message: err instanceof Error ? err.message : String(err), ...reason(err) };
        if (isRetryable(err) && !ctx.lastAttempt) {
          await deps.jobs.requeue(id, error, job.attempts);
          throw err;
        }
        const failed = await deps.jobs.fail(id, error, job.attempts);
        if (failed) deps.events.failed(failed);
        log.warn({ err, code: error.code, provider_reason: error.provider_reason }, "get failed");
        throw jobFailedPermanently(id, err);
      }
    } finally {
      deps.running.delete(id);
      await store?.close();
    }
  };
}

interface Downloaded { size: number; sha256: string; md5: string; ext: string; peek?: string }

/** One download attempt: provider -> (digest of the raw bytes) -> transforms -> head capture -> dataset store. */
async function download(job: JobDoc, store: ObjectStore, datasets: DatasetStore, onBytes: (n: number) => void, signal: AbortSignal): Promise<Downloaded> {
  const spec = job.get!;
  let got: { info: Awaited<ReturnType<ObjectStore["get"]>>["info"]; body: Readable };
  try {
    got = await store.get(job.bucket, job.object_key);
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
  const stored = datasets.write(job.store_key, head, { signal });
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
  return { size: blob.size, sha256: blob.sha256, md5: blob.md5, ext, ...(peek ? { peek } : {}) };
}

/** A failure while reading the provider's body (a reset, a timeout) is worth another attempt. */
function readFailed(key: string, err: unknown): unknown {
  if (isSkyferryError(err)) return err;
  if (err instanceof Error && err.name === "AbortError") return err;
  return new SkyferryError("XFER_GET_READ", `Reading the object '${key.slice(0, 200)}' failed: ${err instanceof Error ? err.message : String(err)}`, { status: 503, retryable: true, cause: err });
}

function reason(err: unknown): { provider_reason?: string } {
  const r = providerReasonOf(err);
  return r ? { provider_reason: r } : {};
}
