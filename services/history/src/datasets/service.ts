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
import type { DatasetDoc, DatasetRepository, SendableDoc } from "./repository.ts";
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
    /**
     * The datasets of a send, a page at a time, read in the database's own order (no sort: FerretDB
     * sorts only after reading every match, 0.2 s for 1,000 datasets, while its first 100 unsorted
     * come in ~30 ms). Pages are sorted by hid; `missing` comes on the last page.
     */
    async *forSend(req: RpcRequest<typeof HistoryDatasetsForSend>): AsyncGenerator<RpcResponse<typeof HistoryDatasetsForSend>> {
      const history = await deps.ownedHistory(req.actor.user_id, req.history_id);
      const head = { id: history._id, name: history.name };
      const wanted = req.dataset_ids;
      // A client may name an item by its HDA id or by its dataset id; each item is sent once.
      const unseen = wanted === undefined ? undefined : new Set(wanted);
      const filter: Filter<DatasetDoc> = wanted === undefined ? { state: "ok", deleted: false, purged: false } : {};
      let page: SendableDataset[] = [];
      for await (const d of datasets.streamOfHistory(req.history_id, filter, SEND_PAGE)) {
        if (unseen) {
          const byHda = unseen.delete(d._id);
          const byDataset = unseen.delete(d.dataset_id);
          if (!byHda && !byDataset) continue;
        }
        page.push(sendable(d));
        if (page.length === SEND_PAGE) {
          yield { history: head, datasets: page.sort(byHid), missing: [] };
          page = [];
        }
      }
      yield { history: head, datasets: page.sort(byHid), missing: unseen ? [...unseen] : [] };
    },
  };
}
/** Datasets per page of a send's reply: the planner queues a page's jobs in one batch. */
const SEND_PAGE = 100;
const byHid = (a: SendableDataset, b: SendableDataset) => a.hid - b.hid;
export type DatasetService = ReturnType<typeof createDatasetService>;

function sendable(d: SendableDoc): SendableDataset {
  return {
    id: d._id, hid: d.hid, name: d.name, extension: d.extension, state: d.state, deleted: d.deleted, purged: d.purged,
    file_size: d.file_size, hashes: { sha256: d.sha256 ?? "", md5: d.md5 ?? "" }, store_key: d.store_key,
  };
}
