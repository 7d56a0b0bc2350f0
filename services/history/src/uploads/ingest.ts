import { randomUUID } from "node:crypto";
import { pipeline, type Readable } from "node:stream";
import type { Actor } from "@skyferry/contracts";
import { type DatasetStore, isDatasetStoreError, shardedKey } from "@skyferry/dataset-store";
import type { sniffDatatype } from "@skyferry/datatypes";
import type { Logger } from "@skyferry/logger";
import type { DatasetDoc, DatasetRepository } from "../datasets/repository.ts";
import { uploadTooLarge } from "../errors.ts";
import type { HistoryDoc } from "../histories/repository.ts";
import { newId } from "../ids.ts";
import { HeadTap, humanSize, peekOf } from "./head-tap.ts";

export interface IngestDeps {
  datasets: DatasetRepository;
  store: DatasetStore;
  sniff: typeof sniffDatatype;
  logger: Logger;
  now: () => Date;
  maxBytes: number;
}

export interface IngestSource {
  /** Opens the bytes; called once the dataset exists (queued -> running). */
  open: () => Promise<Readable>;
  name: string;
  /** Forces the datatype; otherwise sniffed from the name and the first bytes. */
  fileType?: string | undefined;
  sourceUri?: string | undefined;
  signal?: AbortSignal | undefined;
}

/** Creates the dataset record first (visible as queued), streams the bytes into the store, then marks it ok or error. */
export function createIngest(deps: IngestDeps) {
  const { datasets, store, now, logger } = deps;

  const fail = async (doc: DatasetDoc, reason: string) => {
    // The store's write is atomic, so a failed write left nothing; deleting again is idempotent.
    await store.delete(doc.store_key).catch((err: unknown) => logger.warn({ err, dataset_id: doc._id }, "removing a failed upload's bytes failed"));
    await datasets.transition(doc._id, ["queued", "running"], { state: "error", misc_info: reason, misc_blurb: "error" }, now());
  };

  return async function ingest(history: HistoryDoc, actor: Actor, src: IngestSource): Promise<DatasetDoc> {
    const id = newId();
    const t = now();
    const queued = await datasets.insertWithNextHid({
      _id: id, dataset_id: newId(), history_id: history._id, user_id: actor.user_id, name: src.name, extension: src.fileType ?? "data",
      state: "queued", deleted: false, purged: false, visible: true, tags: [], annotation: null, genome_build: null, misc_info: null,
      misc_blurb: "queued", peek: null, file_size: 0, sha256: null, md5: null, store_key: shardedKey(id), uuid: randomUUID(),
      created_from_basename: src.name, source_uri: src.sourceUri ?? null, create_time: t, update_time: t,
    });
    const log = logger.child({ dataset_id: id, history_id: history._id, user_id: actor.user_id, request_id: actor.request_id });
    try {
      await datasets.transition(id, ["queued"], { state: "running", misc_blurb: "uploading" }, now());
      const body = await src.open();
      const tap = new HeadTap();
      const tapped = pipeline(body, tap, () => undefined);
      const blob = await store.write(queued.store_key, tapped, { maxBytes: deps.maxBytes, ...(src.signal ? { signal: src.signal } : {}) });
      const head = tap.head();
      const extension = src.fileType ?? deps.sniff({ name: src.name, head, complete: head.length >= blob.size }).ext;
      const ok = await datasets.transition(
        id,
        ["running"],
        {
          state: "ok", extension, file_size: blob.size, sha256: blob.sha256, md5: blob.md5, peek: peekOf(head), misc_blurb: humanSize(blob.size),
          misc_info: src.sourceUri ? `uploaded from ${src.sourceUri.slice(0, 200)}` : "uploaded file",
        },
        now(),
      );
      if (!ok) {
        // Deleted and purged while the bytes streamed in: nothing may stay behind.
        await store.delete(queued.store_key);
        return (await datasets.findOwned(actor.user_id, id)) ?? queued;
      }
      log.info({ size: blob.size, extension }, "dataset stored");
      return ok;
    } catch (err) {
      const tooLarge = isDatasetStoreError(err, "DATASET_STORE_TOO_LARGE") || hasCode(err, "FST_REQ_FILE_TOO_LARGE") || hasCode(err, "URL_TOO_LARGE");
      const reason = tooLarge ? `The upload exceeds the size limit of ${deps.maxBytes} bytes.` : uploadFailureReason(err);
      log.info({ err, reason }, "upload failed");
      await fail(queued, reason);
      throw tooLarge ? uploadTooLarge(deps.maxBytes) : err;
    }
  };
}

function hasCode(err: unknown, code: string): boolean {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as { code?: unknown }).code === code) return true;
  }
  return false;
}

function uploadFailureReason(err: unknown): string {
  if (isDatasetStoreError(err, "DATASET_STORE_ABORTED") || isDatasetStoreError(err, "DATASET_STORE_SOURCE")) return "The upload was interrupted; nothing was stored.";
  if (err instanceof Error && "status" in err && typeof err.status === "number" && err.status < 500) return err.message.slice(0, 500);
  return "The upload failed; nothing was stored.";
}
