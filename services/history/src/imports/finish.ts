import { findIn } from "@skyferry/db";
import type { DatasetState, ErrorBody, ImportFinish } from "@skyferry/contracts";
import type { DatasetStore } from "@skyferry/dataset-store";
import { invalidField, isSkyferryError, unavailable } from "@skyferry/errors";
import type { Logger } from "@skyferry/logger";
import { EXTENSION } from "../datasets/datatype-info.ts";
import type { DatasetDoc, DatasetRepository } from "../datasets/repository.ts";
import { datasetNotFound } from "../errors.ts";
import { humanSize } from "../uploads/head-tap.ts";

/** States a finish may end in ok: a retried job's item is in error; a finish told twice (a redelivered job) meets ok. */
const FINISHABLE: DatasetState[] = ["queued", "running", "error", "ok"];

export interface FinishDeps {
  datasets: DatasetRepository;
  store: DatasetStore;
  logger: Logger;
  now: () => Date;
}

/**
 * Ends imports ok: a finish reads the item, checks it, and moves it to ok with one conditional
 * update; a batch reads its items in one query (`findIn`) and updates them one after the other.
 */
export function createFinisher(deps: FinishDeps) {
  const { datasets, now } = deps;
  const dropBytes = (key: string, id: string) =>
    deps.store.delete(key).catch((err: unknown) => deps.logger.warn({ err, dataset_id: id }, "removing an import's bytes failed"));

  /** The item, checked against the request: 404 unless the actor owns it, 400 for a foreign store_key or an unknown ext. */
  const check = (req: ImportFinish, doc: DatasetDoc | null | undefined): DatasetDoc => {
    if (!EXTENSION.test(req.ext)) throw invalidField("ext", `Invalid ext: '${req.ext.slice(0, 40)}' is not a datatype extension.`);
    // Only the user's own import items: never an uploaded dataset, never another user's.
    if (!doc || doc.user_id !== req.actor.user_id || doc.imported !== true) throw datasetNotFound(req.item_id);
    if (req.store_key !== doc.store_key) throw invalidField("store_key", `The store_key does not belong to item '${doc._id}'.`);
    return doc;
  };
  const okFields = (req: ImportFinish, doc: DatasetDoc): Partial<DatasetDoc> & { state: "ok" } => ({
    state: "ok", extension: req.ext, file_size: req.size, sha256: req.sha256, md5: req.md5, peek: req.peek ?? null, misc_blurb: humanSize(req.size),
    misc_info: doc.source_uri ? `downloaded from ${doc.source_uri.slice(0, 200)}` : "downloaded",
  });
  /** Purged while the bytes streamed in: nothing may stay behind. */
  const purgedMeanwhile = async (doc: DatasetDoc) => {
    await dropBytes(doc.store_key, doc._id);
  };

  return {
    /** One finish; the item as it is afterwards. */
    async finish(req: ImportFinish): Promise<DatasetDoc> {
      const doc = check(req, await datasets.findOwned(req.actor.user_id, req.item_id));
      const ok = await datasets.transition(doc._id, FINISHABLE, okFields(req, doc), now());
      if (ok) return ok;
      await purgedMeanwhile(doc);
      return (await datasets.findOwned(req.actor.user_id, doc._id)) ?? doc;
    },

    /** Many finishes: each answers on its own (its new state, or its error), in request order. */
    async finishBatch(items: ImportFinish[]): Promise<Array<{ item_id: string; state?: DatasetState; error?: ErrorBody }>> {
      const found = new Map((await findIn(datasets.collection, "_id", items.map((r) => r.item_id))).map((d) => [d._id, d]));
      const out: Array<{ item_id: string; state?: DatasetState; error?: ErrorBody }> = [];
      for (const req of items) {
        try {
          const doc = check(req, found.get(req.item_id));
          const fields = { ...okFields(req, doc), update_time: now() };
          const r = await datasets.collection.updateOne({ _id: doc._id, state: { $in: FINISHABLE }, purged: false }, { $set: fields });
          if (r.matchedCount === 1) out.push({ item_id: req.item_id, state: "ok" });
          else {
            await purgedMeanwhile(doc);
            out.push({ item_id: req.item_id, state: doc.state });
          }
        } catch (err) {
          out.push({ item_id: req.item_id, error: errorBody(err, deps.logger, req.item_id) });
        }
      }
      return out;
    },
  };
}

function errorBody(err: unknown, logger: Logger, itemId: string): ErrorBody {
  if (isSkyferryError(err) && err.status < 500) return err.toBody();
  logger.error({ err, dataset_id: itemId }, "finishing an import failed");
  return isSkyferryError(err) ? err.toBody() : unavailable("HIST_IMPORT_UNAVAILABLE", "Recording the import failed; try again.").toBody();
}
