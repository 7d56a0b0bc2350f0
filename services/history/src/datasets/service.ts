import type { DatasetDelete, DatasetGet, DatasetObject, DatasetUpdate, HistoryContentsList, HistoryDatasetsForSend, RpcRequest, RpcResponse, SendableDataset } from "@skyferry/contracts";
import type { DatasetStore } from "@skyferry/dataset-store";
import { invalidField } from "@skyferry/errors";
import type { Logger } from "@skyferry/logger";
import type { Filter } from "mongodb";
import { datasetNotFound } from "../errors.ts";
import type { HistoryDoc } from "../histories/repository.ts";
import { idList } from "../ids.ts";
import { pick, selectKeys } from "../views.ts";
import { EXTENSION } from "./datatype-info.ts";
import type { DatasetDoc, DatasetRepository } from "./repository.ts";
import { DATASET_VIEWS, serializeDataset } from "./serialize.ts";

export interface DatasetServiceDeps {
  datasets: DatasetRepository;
  /** The actor's history or a 404. */
  ownedHistory: (userId: string, historyId: string) => Promise<HistoryDoc>;
  store: DatasetStore;
  logger: Logger;
  now: () => Date;
}

/** Dataset (HDA) operations behind the RPC handlers; every one is scoped to the actor. */
export function createDatasetService(deps: DatasetServiceDeps) {
  const { datasets, store, now } = deps;

  const owned = async (userId: string, id: string): Promise<DatasetDoc> => {
    const doc = await datasets.findOwned(userId, id);
    if (!doc) throw datasetNotFound(id);
    return doc;
  };

  /** Removes the bytes, then marks the record purged (a failed delete leaves it unpurged, to retry). */
  const purge = async (doc: DatasetDoc): Promise<DatasetDoc> => {
    if (doc.purged) return doc;
    await store.delete(doc.store_key);
    return (await datasets.set(doc._id, { deleted: true, purged: true }, now())) ?? doc;
  };

  return {
    owned,
    async contents(req: RpcRequest<typeof HistoryContentsList>): Promise<DatasetObject[]> {
      await deps.ownedHistory(req.actor.user_id, req.history_id);
      const filter: Filter<DatasetDoc> = {};
      if (req.deleted !== undefined) filter.deleted = req.deleted;
      if (req.visible !== undefined) filter.visible = req.visible;
      const ids = req.ids !== undefined ? idList("ids", req.ids) : undefined;
      if (ids) filter._id = { $in: ids };
      const summaryKeys = selectKeys(DATASET_VIEWS, req, "summary");
      const detailedKeys = selectKeys(DATASET_VIEWS, { ...req, view: req.view ?? "detailed" }, "detailed");
      // Galaxy: `details=all` or `ids=` give every item the detailed view; `details=a,b` only those.
      const detailAll = req.details === "all" || (ids !== undefined && req.view === undefined && req.details === undefined);
      const detailSome = !detailAll && req.details !== undefined && req.details !== "" ? new Set(idList("details", req.details)) : null;
      const docs = await datasets.listOfHistory(req.history_id, filter, { limit: req.limit ?? 10_000, offset: req.offset ?? 0 });
      return docs.map((d) => pick(serializeDataset(d), detailAll || detailSome?.has(d._id) ? detailedKeys : summaryKeys));
    },
    async get(req: RpcRequest<typeof DatasetGet>): Promise<DatasetObject> {
      const doc = await owned(req.actor.user_id, req.dataset_id);
      if (req.history_id !== undefined && doc.history_id !== req.history_id) throw datasetNotFound(req.dataset_id);
      return pick(serializeDataset(doc), selectKeys(DATASET_VIEWS, req, "detailed"));
    },
    async update(req: RpcRequest<typeof DatasetUpdate>): Promise<DatasetObject> {
      const doc = await owned(req.actor.user_id, req.dataset_id);
      const { datatype, extension, file_ext, deleted, ...rest } = req.changes;
      const fields: Partial<DatasetDoc> = { ...rest };
      const ext = datatype ?? extension ?? file_ext;
      if (ext !== undefined) {
        const field = datatype !== undefined ? "datatype" : extension !== undefined ? "extension" : "file_ext";
        if (!EXTENSION.test(ext)) throw invalidField(field, `Invalid ${field}: '${ext.slice(0, 40)}' is not a datatype extension.`);
        fields.extension = ext;
      }
      if (deleted !== undefined && !(doc.purged && !deleted)) fields.deleted = deleted;
      const updated = await datasets.set(doc._id, fields, now());
      if (!updated) throw datasetNotFound(req.dataset_id);
      return pick(serializeDataset(updated), selectKeys(DATASET_VIEWS, req, "detailed"));
    },
    async delete(req: RpcRequest<typeof DatasetDelete>): Promise<RpcResponse<typeof DatasetDelete>> {
      const doc = await owned(req.actor.user_id, req.dataset_id);
      const after = req.purge ? await purge(doc) : ((await datasets.set(doc._id, { deleted: true }, now())) ?? doc);
      return { id: after._id, deleted: after.deleted, purged: after.purged };
    },
    async purgeHistory(historyId: string): Promise<void> {
      for (const d of await datasets.listOfHistory(historyId, { purged: false })) await purge(d);
    },
    async forSend(req: RpcRequest<typeof HistoryDatasetsForSend>): Promise<RpcResponse<typeof HistoryDatasetsForSend>> {
      const history = await deps.ownedHistory(req.actor.user_id, req.history_id);
      const wanted = req.dataset_ids;
      let docs: DatasetDoc[];
      let missing: string[] = [];
      if (wanted === undefined) {
        docs = await datasets.listOfHistory(req.history_id, { state: "ok", deleted: false, purged: false });
      } else {
        const all = await datasets.listOfHistory(req.history_id);
        const byId = new Map<string, DatasetDoc>();
        // A client may name an item by its HDA id or by its dataset id.
        for (const d of all) byId.set(d._id, d).set(d.dataset_id, d);
        const picked = new Map<string, DatasetDoc>();
        for (const id of wanted) {
          const d = byId.get(id);
          if (d) picked.set(d._id, d);
          else missing.push(id);
        }
        docs = [...picked.values()].sort((a, b) => a.hid - b.hid);
        missing = [...new Set(missing)];
      }
      return { history: { id: history._id, name: history.name }, datasets: docs.map(sendable), missing };
    },
  };
}
export type DatasetService = ReturnType<typeof createDatasetService>;

function sendable(d: DatasetDoc): SendableDataset {
  return {
    id: d._id, hid: d.hid, name: d.name, extension: d.extension, state: d.state, deleted: d.deleted, purged: d.purged,
    file_size: d.file_size, hashes: { sha256: d.sha256 ?? "", md5: d.md5 ?? "" }, store_key: d.store_key,
  };
}
