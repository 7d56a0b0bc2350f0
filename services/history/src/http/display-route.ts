import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import { IdParam } from "@skyferry/contracts";
import type { DatasetStore } from "@skyferry/dataset-store";
import { invalidField } from "@skyferry/errors";
import { contentTypeOf, EXTENSION } from "../datasets/datatype-info.ts";
import type { DatasetService } from "../datasets/service.ts";
import { datasetUnavailable, rangeNotSatisfiable } from "../errors.ts";
import { contentDisposition, parseRange } from "../uploads/range.ts";

const Params = Type.Object({ id: IdParam("dataset_id") });
const Query = Type.Object({ to_ext: Type.Optional(Type.String({ maxLength: 32 })) }, { additionalProperties: false });

/**
 * `GET /internal/v1/datasets/:id/display`: streams a dataset from the store (one `Range` honoured,
 * 206/416), typed by its datatype; `to_ext` makes it a download named `<name>.<ext>`.
 */
export const displayRoute: FastifyPluginAsyncTypebox<{ datasets: DatasetService; store: DatasetStore }> = async (app, opts) => {
  app.get("/internal/v1/datasets/:id/display", { schema: { params: Params, querystring: Query } }, async (req, reply) => {
    const actor = req.internalActor;
    const { id } = req.params;
    const { to_ext } = req.query;
    if (to_ext !== undefined && !EXTENSION.test(to_ext)) throw invalidField("to_ext", `Invalid to_ext: '${to_ext.slice(0, 40)}'.`);
    const doc = await opts.datasets.owned(actor.user_id, id);
    if (doc.purged) throw datasetUnavailable(id, "it was purged");
    if (doc.state !== "ok") throw datasetUnavailable(id, `it is in state '${doc.state}'`);
    const size = doc.file_size;
    const range = parseRange(req.headers.range, size);
    if (range === "unsatisfiable") {
      void reply.header("content-range", `bytes */${size}`);
      throw rangeNotSatisfiable(size);
    }
    const textual = contentTypeOf(doc.extension).startsWith("text/") || doc.extension === "json";
    const fileName = to_ext !== undefined && !doc.name.toLowerCase().endsWith(`.${to_ext}`) ? `${doc.name}.${to_ext}` : doc.name;
    void reply
      .header("content-type", contentTypeOf(doc.extension))
      .header("accept-ranges", "bytes")
      .header("x-content-type-options", "nosniff")
      .header("content-disposition", contentDisposition(to_ext === undefined && textual ? "inline" : "attachment", fileName))
      .header("etag", `"${doc.sha256 ?? doc._id}"`);
    if (range) {
      void reply.code(206).header("content-range", `bytes ${range.start}-${range.end}/${size}`).header("content-length", String(range.end - range.start + 1));
    } else {
      void reply.header("content-length", String(size));
    }
    if (size === 0 || req.method === "HEAD") return reply.send("");
    return reply.send(await opts.store.read(doc.store_key, range ?? undefined));
  });
};
