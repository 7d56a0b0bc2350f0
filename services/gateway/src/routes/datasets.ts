import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import type { Bus } from "@skyferry/bus";
import { DatasetChanges, DatasetDelete, DatasetGet, DatasetObject, DatasetUpdate, IdParam, ViewParams } from "@skyferry/contracts";
import { actorOf } from "../plugins/auth.ts";
import { Key, strict, viewOf } from "./query.ts";

const IdParams = Type.Object({ id: IdParam("dataset_id") });
const OneQuery = Type.Object(
  {
    key: Key,
    ...ViewParams,
    /** Galaxy's switch between history and library datasets: only history datasets live here. */
    hda_ldda: Type.Optional(Type.Literal("hda")),
  },
  strict,
);
const DeleteQuery = Type.Object({ key: Key, purge: Type.Optional(Type.Boolean()) }, strict);
const DisplayQuery = Type.Object(
  {
    key: Key,
    /** Download as `<name>.<to_ext>` (attachment). */
    to_ext: Type.Optional(Type.String({ maxLength: 32 })),
    /** Galaxy display flags, accepted for compatibility; the content is always served as stored. */
    preview: Type.Optional(Type.Boolean()),
    offset: Type.Optional(Type.Integer({ minimum: 0 })),
    ck_size: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  strict,
);

/** Galaxy's `/api/datasets/{id}`: detail, change, delete/purge, and display (streamed, with Range). Register inside `authenticated(...)`. */
export const datasetRoutes: FastifyPluginAsyncTypebox<{ bus: Bus; timeoutMs: number }> = async (app, opts) => {
  const { bus, timeoutMs } = opts;
  const tags = ["datasets"];

  app.get("/api/datasets/:id", { schema: { tags, summary: "One dataset (detailed view)", params: IdParams, querystring: OneQuery, response: { 200: DatasetObject } } }, async (req) =>
    bus.request(DatasetGet, { actor: actorOf(req), dataset_id: req.params.id, ...viewOf(req.query) }, { timeoutMs }),
  );
  app.put(
    "/api/datasets/:id",
    { schema: { tags, summary: "Rename, change datatype, hide/show or undelete a dataset", params: IdParams, querystring: OneQuery, body: DatasetChanges, response: { 200: DatasetObject } } },
    async (req) => bus.request(DatasetUpdate, { actor: actorOf(req), dataset_id: req.params.id, changes: req.body, ...viewOf(req.query) }, { timeoutMs }),
  );
  app.delete(
    "/api/datasets/:id",
    { schema: { tags, summary: "Delete a dataset (`purge=true` also removes its bytes)", params: IdParams, querystring: DeleteQuery, response: { 200: DatasetDelete.responseData } } },
    async (req) => bus.request(DatasetDelete, { actor: actorOf(req), dataset_id: req.params.id, purge: req.query.purge ?? false }, { timeoutMs }),
  );
  app.get(
    "/api/datasets/:id/display",
    { schema: { tags, summary: "The dataset's content, streamed; honours one HTTP Range", params: IdParams, querystring: DisplayQuery } },
    async (req, reply) => {
      const { to_ext } = req.query;
      const qs = to_ext !== undefined ? `?to_ext=${encodeURIComponent(to_ext)}` : "";
      return app.proxyToHistory(req, reply, `/internal/v1/datasets/${req.params.id}/display${qs}`);
    },
  );
};
