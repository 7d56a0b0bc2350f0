import type { HistoryList, RpcRequest } from "@skyferry/contracts";
import { invalidField } from "@skyferry/errors";
import type { Filter, Sort } from "mongodb";
import type { HistoryDoc, HistoryQuery } from "./repository.ts";

type ListRequest = RpcRequest<typeof HistoryList>;

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const bool = (field: string, v: string) => {
  if (v === "true" || v === "True" || v === "1") return true;
  if (v === "false" || v === "False" || v === "0") return false;
  throw invalidField(field, `Invalid value for ${field}: '${v.slice(0, 40)}' is not a boolean.`);
};
const time = (field: string, v: string) => {
  const d = new Date(v.length === 10 ? `${v}T00:00:00Z` : /Z|[+-]\d\d:?\d\d$/.test(v) ? v : `${v}Z`);
  if (Number.isNaN(d.getTime())) throw invalidField(field, `Invalid value for ${field}: '${v.slice(0, 40)}' is not a date.`);
  return d;
};

/** The Galaxy `q=<attr>-<op>` filters supported on histories, each turning `qv` into a Mongo filter. */
const FILTERS: Record<string, (v: string) => Filter<HistoryDoc>> = {
  name: (v) => ({ name: v }),
  "name-eq": (v) => ({ name: v }),
  "name-contains": (v) => ({ name: { $regex: escapeRegex(v), $options: "i" } }),
  "name-startswith": (v) => ({ name: { $regex: `^${escapeRegex(v)}`, $options: "i" } }),
  deleted: (v) => ({ deleted: bool("qv", v) }),
  "deleted-eq": (v) => ({ deleted: bool("qv", v) }),
  purged: (v) => ({ purged: bool("qv", v) }),
  "purged-eq": (v) => ({ purged: bool("qv", v) }),
  "update_time-gt": (v) => ({ update_time: { $gt: time("qv", v) } }),
  "update_time-ge": (v) => ({ update_time: { $gte: time("qv", v) } }),
  "update_time-lt": (v) => ({ update_time: { $lt: time("qv", v) } }),
  "update_time-le": (v) => ({ update_time: { $lte: time("qv", v) } }),
  "create_time-gt": (v) => ({ create_time: { $gt: time("qv", v) } }),
  "create_time-ge": (v) => ({ create_time: { $gte: time("qv", v) } }),
  "create_time-lt": (v) => ({ create_time: { $lt: time("qv", v) } }),
  "create_time-le": (v) => ({ create_time: { $lte: time("qv", v) } }),
};
export const HISTORY_FILTERS = Object.keys(FILTERS);

const ORDERS: Record<string, Sort> = {
  "update_time-dsc": { update_time: -1, _id: 1 },
  "update_time-asc": { update_time: 1, _id: 1 },
  "create_time-dsc": { create_time: -1, _id: 1 },
  "create_time-asc": { create_time: 1, _id: 1 },
  "name-asc": { name: 1, _id: 1 },
  "name-dsc": { name: -1, _id: 1 },
};

/** Builds the list query; `deleted` defaults to false unless a `q` filter names `deleted`. */
export function historyListQuery(req: ListRequest): HistoryQuery {
  const q = req.q ?? [];
  const qv = req.qv ?? [];
  if (q.length !== qv.length) throw invalidField("qv", `Each q needs one qv: got ${q.length} q and ${qv.length} qv.`);
  const parts: Array<Filter<HistoryDoc>> = [];
  q.forEach((name, i) => {
    const make = FILTERS[name];
    if (!make) throw invalidField("q", `Unknown filter q='${name.slice(0, 40)}'; supported: ${HISTORY_FILTERS.join(", ")}.`);
    parts.push(make(qv[i]!));
  });
  if (req.search !== undefined && req.search !== "") parts.push(FILTERS["name-contains"]!(req.search));
  if (!q.some((n) => n.startsWith("deleted"))) parts.push({ deleted: req.deleted ?? false });
  return {
    filter: parts.length === 0 ? {} : parts.length === 1 ? parts[0]! : { $and: parts },
    sort: ORDERS[req.order ?? "update_time-dsc"]!,
    limit: req.limit ?? 500,
    offset: req.offset ?? 0,
  };
}
