import type { HistoryCreate, HistoryDelete, HistoryGet, HistoryList, HistoryObject, HistoryUpdate, RpcRequest } from "@skyferry/contracts";
import type { DatasetRepository } from "../datasets/repository.ts";
import { historyNotFound } from "../errors.ts";
import { newId } from "../ids.ts";
import { pick, selectKeys } from "../views.ts";
import { historyListQuery } from "./list-query.ts";
import type { HistoryDoc, HistoryRepository } from "./repository.ts";
import { HISTORY_VIEWS, type HistoryStats, serializeHistory } from "./serialize.ts";

export interface HistoryServiceDeps {
  histories: HistoryRepository;
  datasets: DatasetRepository;
  /** Purges every dataset of a history (bytes first, then the record). */
  purgeDatasets: (historyId: string) => Promise<void>;
  now: () => Date;
}

/** The history operations behind the RPC handlers; every one is scoped to the actor. */
export function createHistoryService(deps: HistoryServiceDeps) {
  const { histories, datasets, now } = deps;

  const owned = async (userId: string, id: string): Promise<HistoryDoc> => {
    const doc = await histories.findOwned(userId, id);
    if (!doc) throw historyNotFound(id);
    return doc;
  };
  const render = async (docs: HistoryDoc[], keys: readonly string[], email: string | undefined): Promise<HistoryObject[]> => {
    const needsStats = keys.some((k) => ["count", "empty", "size", "state", "state_details", "state_ids", "hid_counter"].includes(k));
    const items = needsStats && docs.length > 0 ? await datasets.statsOf(docs.map((d) => d._id)) : [];
    const byHistory = new Map<string, HistoryStats["items"]>();
    for (const it of items) {
      const list = byHistory.get(it.history_id) ?? [];
      list.push(it);
      byHistory.set(it.history_id, list);
    }
    return docs.map((d) => pick(serializeHistory(d, { items: byHistory.get(d._id) ?? [] }, email), keys));
  };
  const one = async (doc: HistoryDoc, req: { view?: "summary" | "detailed"; keys?: string; email?: string }) =>
    (await render([doc], selectKeys(HISTORY_VIEWS, req, "detailed"), req.email))[0]!;

  return {
    async list(req: RpcRequest<typeof HistoryList>): Promise<HistoryObject[]> {
      const keys = selectKeys(HISTORY_VIEWS, req, "summary");
      const docs = await histories.list(req.actor.user_id, historyListQuery(req));
      return render(docs, keys, req.email);
    },
    async get(req: RpcRequest<typeof HistoryGet>): Promise<HistoryObject> {
      return one(await owned(req.actor.user_id, req.history_id), req);
    },
    async create(req: RpcRequest<typeof HistoryCreate>): Promise<HistoryObject> {
      const keys = selectKeys(HISTORY_VIEWS, req, "detailed");
      const t = now();
      const doc = await histories.insert({
        _id: newId(), user_id: req.actor.user_id, name: req.name?.trim() || "Unnamed history", annotation: req.annotation ?? null, tags: [],
        genome_build: null, deleted: false, purged: false, published: false, importable: false, slug: null, create_time: t, update_time: t,
      });
      return (await render([doc], keys, req.email))[0]!;
    },
    async update(req: RpcRequest<typeof HistoryUpdate>): Promise<HistoryObject> {
      const keys = selectKeys(HISTORY_VIEWS, req, "detailed");
      const current = await owned(req.actor.user_id, req.history_id);
      const changes = { ...req.changes };
      if (current.purged && changes.deleted === false) delete changes.deleted; // a purge cannot be undone
      const doc = await histories.update(req.actor.user_id, req.history_id, changes, now());
      if (!doc) throw historyNotFound(req.history_id);
      return (await render([doc], keys, req.email))[0]!;
    },
    async delete(req: RpcRequest<typeof HistoryDelete>): Promise<HistoryObject> {
      const keys = selectKeys(HISTORY_VIEWS, req, "detailed");
      await owned(req.actor.user_id, req.history_id);
      if (req.purge) await deps.purgeDatasets(req.history_id);
      const doc = await histories.update(req.actor.user_id, req.history_id, { deleted: true, ...(req.purge ? { purged: true } : {}) }, now());
      if (!doc) throw historyNotFound(req.history_id);
      return (await render([doc], keys, req.email))[0]!;
    },
    owned,
  };
}
export type HistoryService = ReturnType<typeof createHistoryService>;
