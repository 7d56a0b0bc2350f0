import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import type { Bus } from "@skyferry/bus";
import { type DatasetObject, DatasetObject as DatasetSchema, DatasetGet, HistoryContentsList, HistoryList, IdParam, ViewParams } from "@skyferry/contracts";
import { invalidField } from "@skyferry/errors";
import { actorOf } from "../plugins/auth.ts";
import type { FastifyRequest } from "fastify";
import { Key, strict } from "./query.ts";

/** Galaxy's `order`: `<attribute>-asc|-dsc`, comma-separated. */
const ORDER_KEYS = ["create_time", "update_time", "hid", "name", "extension", "state", "file_size"] as const;
const ListQuery = Type.Object(
  {
    key: Key,
    ...ViewParams,
    history_id: Type.Optional(IdParam("history_id")),
    limit: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000, default: 500 })),
    offset: Type.Optional(Type.Integer({ minimum: 0, default: 0 })),
    order: Type.Optional(Type.String({ maxLength: 200, pattern: `^((${ORDER_KEYS.join("|")})(-(asc|dsc))?)(,(${ORDER_KEYS.join("|")})(-(asc|dsc))?)*$` })),
  },
  strict,
);
// Galaxy names the item `id` here (the route's `{id}` is its history): so do its malformed-id errors.
const ItemParams = Type.Object({ id: IdParam("history_id"), item_id: IdParam("id") });
const DisplayQuery = Type.Object({ key: Key, to_ext: Type.Optional(Type.String({ maxLength: 32 })) }, strict);
/** A user's histories are read in full to list their datasets across histories (Galaxy's default limit is 500). */
const MAX_ITEMS = 10_000;

type Row = DatasetObject & Record<string, unknown>;
const compare = (order: string) => {
  const keys = order.split(",").map((part) => {
    const [attr, dir] = part.split("-") as [string, string | undefined];
    return { attr, sign: dir === "asc" ? 1 : -1 };
  });
  return (a: Row, b: Row) => {
    for (const { attr, sign } of keys) {
      const x = a[attr] as string | number | null | undefined;
      const y = b[attr] as string | number | null | undefined;
      if (x === y) continue;
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      return (x < y ? -1 : 1) * sign;
    }
    return 0;
  };
};

/**
 * Galaxy's `GET /api/datasets` (the caller's datasets, optionally of one history, ordered and
 * paged) and `GET /api/histories/{history_id}/contents/{id}/display`, the form of `download_url`.
 * Register inside `authenticated(...)`.
 */
export const galaxyDatasetRoutes: FastifyPluginAsyncTypebox<{ bus: Bus; timeoutMs: number }> = async (app, opts) => {
  const { bus, timeoutMs } = opts;
  const actor = actorOf;
  const tags = ["datasets"];

  const contentsOf = (req: FastifyRequest, historyId: string, view: { view?: "summary" | "detailed"; keys?: string }) =>
    bus.request(HistoryContentsList, { actor: actor(req), history_id: historyId, limit: MAX_ITEMS, ...view }, { timeoutMs }) as Promise<Row[]>;

  app.get("/api/datasets", { schema: { tags, summary: "The caller's datasets (Galaxy's order, limit, offset; `history_id` narrows to one history)", querystring: ListQuery, response: { 200: Type.Array(DatasetSchema) } } }, async (req) => {
    const q = req.query;
    // The ordering attributes are read too, whatever `keys` asks for; only the asked keys are answered.
    const order = q.order ?? "create_time-dsc";
    const asked = q.keys?.split(",").filter(Boolean);
    const needed = asked ? [...new Set([...asked, ...order.split(",").map((o) => o.split("-")[0]!)])].join(",") : undefined;
    const view = { ...(q.view !== undefined ? { view: q.view } : {}), ...(needed !== undefined ? { keys: needed } : {}) };
    let rows: Row[];
    if (q.history_id !== undefined) {
      rows = await contentsOf(req, q.history_id, view);
    } else {
      const histories = await bus.request(HistoryList, { actor: actor(req), email: req.actor.email, limit: 1000 }, { timeoutMs });
      rows = (await Promise.all(histories.flatMap((h) => (h.id ? [contentsOf(req, h.id, view)] : [])))).flat();
    }
    rows.sort(compare(order));
    const offset = q.offset ?? 0;
    const page = rows.slice(offset, offset + (q.limit ?? 500));
    return asked ? page.map((r) => Object.fromEntries(asked.filter((k) => k in r).map((k) => [k, r[k]]))) : page;
  });

  app.get(
    "/api/histories/:id/contents/:item_id/display",
    { schema: { tags, summary: "A history item's content, streamed; honours one HTTP Range", params: ItemParams, querystring: DisplayQuery } },
    async (req, reply) => {
      const { id, item_id } = req.params;
      const { to_ext } = req.query;
      if (to_ext !== undefined && !/^[A-Za-z0-9_.-]{1,32}$/.test(to_ext)) throw invalidField("to_ext", `Invalid to_ext: '${to_ext.slice(0, 40)}'.`);
      // The item must be the caller's and of that history (404 otherwise).
      await bus.request(DatasetGet, { actor: actor(req), history_id: id, dataset_id: item_id, keys: "id" }, { timeoutMs });
      const qs = to_ext !== undefined ? `?to_ext=${encodeURIComponent(to_ext)}` : "";
      return app.proxyToHistory(req, reply, `/internal/v1/datasets/${item_id}/display${qs}`);
    },
  );
};
