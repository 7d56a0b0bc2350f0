import { Type } from "@sinclair/typebox";
import type { Bus } from "@skyferry/bus";
import { DatasetChanges, DatasetDelete, DatasetGet, DatasetObject, DatasetUpdate, ViewParams } from "@skyferry/contracts";
import { malformedId } from "@skyferry/errors";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { actorOf } from "../plugins/auth.ts";

const ID = /^[0-9a-f]{16}$/;
const Key = Type.Optional(Type.String({ maxLength: 256 }));
const strict = { additionalProperties: false } as const;
const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
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

/** Galaxy's `/api/datasets/{id}`: detail, change, delete/purge, and display (streamed, with Range). */
export async function datasetRoutes(app: FastifyInstance, opts: { bus: Bus; timeoutMs: number }): Promise<void> {
  const { bus, timeoutMs } = opts;
  const actor = (req: FastifyRequest) => actorOf(req);
  const idOf = (req: FastifyRequest) => {
    const { id } = req.params as { id: string };
    if (!ID.test(id)) throw malformedId("dataset_id", id);
    return id;
  };
  const view = (q: { view?: "summary" | "detailed"; keys?: string }) => ({
    ...(q.view !== undefined ? { view: q.view } : {}),
    ...(q.keys !== undefined ? { keys: q.keys } : {}),
  });
  const auth = { preHandler: app.authenticate };
  const tags = ["datasets"];

  app.get("/api/datasets/:id", { ...auth, schema: { tags, summary: "One dataset (detailed view)", params: IdParams, querystring: OneQuery, response: { 200: DatasetObject } } }, async (req) =>
    bus.request(DatasetGet, { actor: actor(req), dataset_id: idOf(req), ...view(req.query as typeof OneQuery.static) }, { timeoutMs }),
  );
  app.put(
    "/api/datasets/:id",
    { ...auth, schema: { tags, summary: "Rename, change datatype, hide/show or undelete a dataset", params: IdParams, querystring: OneQuery, body: DatasetChanges, response: { 200: DatasetObject } } },
    async (req) =>
      bus.request(DatasetUpdate, { actor: actor(req), dataset_id: idOf(req), changes: req.body as DatasetChanges, ...view(req.query as typeof OneQuery.static) }, { timeoutMs }),
  );
  app.delete(
    "/api/datasets/:id",
    { ...auth, schema: { tags, summary: "Delete a dataset (`purge=true` also removes its bytes)", params: IdParams, querystring: DeleteQuery, response: { 200: DatasetDelete.responseData } } },
    async (req) => bus.request(DatasetDelete, { actor: actor(req), dataset_id: idOf(req), purge: (req.query as typeof DeleteQuery.static).purge ?? false }, { timeoutMs }),
  );
  app.get(
    "/api/datasets/:id/display",
    { ...auth, schema: { tags, summary: "The dataset's content, streamed; honours one HTTP Range", params: IdParams, querystring: DisplayQuery } },
    async (req, reply) => {
      const { to_ext } = req.query as typeof DisplayQuery.static;
      const qs = to_ext !== undefined ? `?to_ext=${encodeURIComponent(to_ext)}` : "";
      return app.proxyToHistory(req, reply, `/internal/v1/datasets/${idOf(req)}/display${qs}`);
    },
  );
}
