import { findIn } from "@skyferry/db";
import { randomUUID } from "node:crypto";
import type { Bus } from "@skyferry/bus";
import {
  type DatasetObject, HistoryDatasetsOwned, HistoryImportCreate, HistoryImportFail, HistoryImportFinish, HistoryImportFinishBatch, HistoryImportStart, type RpcRequest,
  type RpcResponse,
} from "@skyferry/contracts";
import { type DatasetStore, shardedKey } from "@skyferry/dataset-store";
import { invalidField } from "@skyferry/errors";
import type { Logger } from "@skyferry/logger";
import { EXTENSION } from "../datasets/datatype-info.ts";
import { type DatasetDoc, type DatasetRepository, hidBlock } from "../datasets/repository.ts";
import { DATASET_DETAILED_KEYS, DATASET_SUMMARY_KEYS, serializeDataset } from "../datasets/serialize.ts";
import { datasetNotFound } from "../errors.ts";
import type { HistoryDoc } from "../histories/repository.ts";
import { newId } from "../ids.ts";
import { pick } from "../views.ts";
import { createFinisher } from "./finish.ts";

export interface ImportDeps {
  datasets: DatasetRepository;
  /** The actor's history or a 404. */
  ownedHistory: (userId: string, historyId: string) => Promise<HistoryDoc>;
  store: DatasetStore;
  logger: Logger;
  now: () => Date;
}

/**
 * Imports (get from cloud, issue 6): the transfer service creates queued items, then reports how
 * each ended. The bytes are written by the transfer worker straight into the dataset store under
 * the item's `store_key` (atomically), so this side only records states, sizes and digests.
 */
export function createImports(deps: ImportDeps) {
  const { datasets, store, now } = deps;
  /** The user's import item, or 404 (another user's item, or a dataset that is not an import). */
  const importing = async (userId: string, id: string): Promise<DatasetDoc> => {
    const doc = await datasets.findOwned(userId, id);
    if (!doc || doc.imported !== true) throw datasetNotFound(id);
    return doc;
  };
  const detailed = (d: DatasetDoc): DatasetObject => pick(serializeDataset(d), DATASET_DETAILED_KEYS);
  const finisher = createFinisher(deps);
  const dropBytes = (key: string, id: string) =>
    store.delete(key).catch((err: unknown) => deps.logger.warn({ err, dataset_id: id }, "removing an import's bytes failed"));

  return {
    async create(req: RpcRequest<typeof HistoryImportCreate>): Promise<RpcResponse<typeof HistoryImportCreate>> {
      const history = await deps.ownedHistory(req.actor.user_id, req.history_id);
      for (const it of req.items) {
        if (it.file_type !== undefined && !EXTENSION.test(it.file_type)) throw invalidField("file_type", `Invalid file_type: '${it.file_type.slice(0, 40)}' is not a datatype extension.`);
      }
      const t = now();
      const docs = req.items.map((it): Omit<DatasetDoc, "hid"> => {
        const id = newId();
        return {
          _id: id, dataset_id: newId(), history_id: history._id, user_id: req.actor.user_id, name: it.name, extension: it.file_type ?? "data",
          state: "queued", deleted: false, purged: false, visible: true, tags: [], annotation: null, genome_build: it.dbkey ?? null, misc_info: null,
          misc_blurb: "queued", peek: null, file_size: 0, sha256: null, md5: null, store_key: shardedKey(id), uuid: randomUUID(),
          created_from_basename: it.name, source_uri: it.source_uri ?? null, imported: true, create_time: t, update_time: t,
        };
      });
      const stored = await insertInOrder(datasets, docs);
      return { items: stored.map((d) => ({ item: pick(serializeDataset(d), DATASET_SUMMARY_KEYS), store_key: d.store_key })) };
    },

    async start(req: RpcRequest<typeof HistoryImportStart>): Promise<DatasetObject> {
      const doc = await importing(req.actor.user_id, req.item_id);
      const moved = await datasets.transition(doc._id, ["queued", "error"], { state: "running", misc_blurb: "downloading", misc_info: null }, now());
      return detailed(moved ?? doc);
    },

    async finish(req: RpcRequest<typeof HistoryImportFinish>): Promise<DatasetObject> {
      return detailed(await finisher.finish(req));
    },

    async finishBatch(req: RpcRequest<typeof HistoryImportFinishBatch>): Promise<RpcResponse<typeof HistoryImportFinishBatch>> {
      return { results: await finisher.finishBatch(req.items) };
    },

    /** For each item: the dataset is in that history, that user's, not purged, and stored under that key. */
    async owned(req: RpcRequest<typeof HistoryDatasetsOwned>): Promise<RpcResponse<typeof HistoryDatasetsOwned>> {
      const ids = [...new Set(req.items.map((it) => it.dataset_id))];
      const found = new Map(
        (await findIn(datasets.collection, "_id", ids, {}, { projection: { _id: 1, user_id: 1, history_id: 1, store_key: 1, purged: 1 } })).map((d) => [d._id, d]),
      );
      return {
        owned: req.items.map((it) => {
          const d = found.get(it.dataset_id);
          return d !== undefined && d.user_id === it.user_id && d.history_id === it.history_id && d.store_key === it.store_key && !d.purged;
        }),
      };
    },

    async fail(req: RpcRequest<typeof HistoryImportFail>): Promise<DatasetObject> {
      const doc = await importing(req.actor.user_id, req.item_id);
      const failed = await datasets.transition(
        doc._id,
        ["queued", "running"],
        { state: "error", misc_info: req.reason, misc_blurb: req.deleted ? "cancelled" : "error", ...(req.deleted ? { deleted: true } : {}) },
        now(),
      );
      if (failed) await dropBytes(doc.store_key, doc._id);
      return detailed(failed ?? doc);
    },
  };
}

/** Serves the import RPCs; returns the subscriptions (drained on close). */
export function serveImports(bus: Bus, deps: ImportDeps) {
  const imports = createImports(deps);
  return [
    bus.serve(HistoryImportCreate, (req) => imports.create(req)),
    bus.serve(HistoryImportStart, (req) => imports.start(req)),
    bus.serve(HistoryImportFinish, (req) => imports.finish(req)),
    bus.serve(HistoryImportFinishBatch, (req) => imports.finishBatch(req)),
    bus.serve(HistoryImportFail, (req) => imports.fail(req)),
    bus.serve(HistoryDatasetsOwned, (req) => imports.owned(req)),
  ];
}

/** Inserts the items with consecutive hids in request order: one allocation and one write for the batch. */
async function insertInOrder(datasets: DatasetRepository, docs: Array<Omit<DatasetDoc, "hid">>): Promise<DatasetDoc[]> {
  const first = await datasets.allocateHids(docs[0]!.history_id, docs.length);
  const full = docs.map((d, i): DatasetDoc => ({ ...d, hid: first + i, hid_block: hidBlock(first + i) }));
  await datasets.collection.insertMany(full, { ordered: true });
  return full;
}
