import type { FastifyPluginAsyncTypebox, TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import type { Bus } from "@skyferry/bus";
import {
  DatasetGet, DatasetObject, HistoryChanges, HistoryContentsList, HistoryCreate, HistoryDelete, HistoryGet, HistoryList, HistoryObject, HistoryUpdate, IdParam, ViewParams,
} from "@skyferry/contracts";
import { invalidField } from "@skyferry/errors";
import type { FastifyRequest } from "fastify";
import { actorOf } from "../plugins/auth.ts";
import { detachedBody } from "../plugins/history-proxy.ts";
import { Key, KeyQuery, strict, viewOf } from "./query.ts";

const IdParams = Type.Object({ id: IdParam("history_id") });
const ItemParams = Type.Object({ id: IdParam("history_id"), item_id: IdParam("item_id") });
// The list's query is the contract's request without what the gateway supplies (actor, email).
const { actor: _actor, email: _email, ...listFields } = HistoryList.requestData.properties;
const ListQuery = Type.Object({ key: Key, ...listFields }, strict);
const OneQuery = Type.Object({ key: Key, ...ViewParams }, strict);
const DeleteQuery = Type.Object({ key: Key, ...ViewParams, purge: Type.Optional(Type.Boolean()) }, strict);
// The contents query is the contract's request without what the gateway supplies (actor, history_id).
const { actor: _cActor, history_id: _cHistory, ...contentsFields } = HistoryContentsList.requestData.properties;
const ContentsQuery = Type.Object(
  {
    key: Key,
    /** Galaxy's newer API switch; accepted and ignored (one listing serves both). */
    v: Type.Optional(Type.Literal("dev")),
    ...contentsFields,
  },
  strict,
);
const CreateBody = Type.Object(
  { name: Type.Optional(Type.String({ maxLength: 255 })), annotation: Type.Optional(Type.Union([Type.String({ maxLength: 4096 }), Type.Null()])) },
  strict,
);

/** `purge` from a DELETE body (`{"purge": true}`), validated by hand: a DELETE may have no body at all. */
function purgeInBody(body: unknown): boolean | undefined {
  if (body === undefined || body === null || body === "") return undefined;
  if (typeof body !== "object" || Array.isArray(body)) throw invalidField("(root)", "The request body must be a JSON object.");
  for (const [k, v] of Object.entries(body)) {
    if (k !== "purge") throw invalidField(k, `Invalid body field '${k.slice(0, 40)}': must NOT have additional properties.`);
    if (typeof v !== "boolean") throw invalidField("purge", "Invalid body field 'purge': must be boolean.");
  }
  return (body as { purge?: boolean }).purge;
}

/**
 * Galaxy's `/api/histories` and `/api/histories/{id}/contents`, scoped to the caller: metadata over
 * NATS; uploads (`POST …/contents`) streamed to the history service over HTTP. Register inside `authenticated(...)`.
 */
export const historyRoutes: FastifyPluginAsyncTypebox<{ bus: Bus; timeoutMs: number }> = async (app, opts) => {
  const { bus, timeoutMs } = opts;
  const who = (req: FastifyRequest) => ({ actor: actorOf(req), email: req.actor.email });
  const tags = ["histories"];

  app.get("/api/histories", { schema: { tags, summary: "The caller's histories (summary view)", querystring: ListQuery, response: { 200: Type.Array(HistoryObject) } } }, async (req) => {
    const { key: _key, ...q } = req.query;
    return bus.request(HistoryList, { ...who(req), ...q }, { timeoutMs });
  });
  app.post(
    "/api/histories",
    { schema: { tags, summary: "Create a history", querystring: OneQuery, body: Type.Union([CreateBody, Type.Null()]), response: { 200: HistoryObject } } },
    async (req) => bus.request(HistoryCreate, { ...who(req), ...req.body, ...viewOf(req.query) }, { timeoutMs }),
  );
  app.get("/api/histories/:id", { schema: { tags, summary: "One history (detailed view)", params: IdParams, querystring: OneQuery, response: { 200: HistoryObject } } }, async (req) =>
    bus.request(HistoryGet, { ...who(req), history_id: req.params.id, ...viewOf(req.query) }, { timeoutMs }),
  );
  app.put(
    "/api/histories/:id",
    { schema: { tags, summary: "Rename, annotate, tag or undelete a history", params: IdParams, querystring: OneQuery, body: HistoryChanges, response: { 200: HistoryObject } } },
    async (req) => bus.request(HistoryUpdate, { ...who(req), history_id: req.params.id, changes: req.body, ...viewOf(req.query) }, { timeoutMs }),
  );
  app.delete(
    "/api/histories/:id",
    { schema: { tags, summary: "Delete a history (`purge=true` also removes its datasets' bytes)", params: IdParams, querystring: DeleteQuery, response: { 200: HistoryObject } } },
    async (req) => {
      // Galaxy (and BioBlend's delete_history(purge=True)) also sends `{"purge": true}` as the body.
      const purge = purgeInBody(req.body) ?? req.query.purge ?? false;
      return bus.request(HistoryDelete, { ...who(req), history_id: req.params.id, purge, ...viewOf(req.query) }, { timeoutMs });
    },
  );
  app.get(
    "/api/histories/:id/contents",
    { schema: { tags, summary: "A history's datasets in hid order", params: IdParams, querystring: ContentsQuery, response: { 200: Type.Array(DatasetObject) } } },
    async (req) => {
      const { key: _key, v: _v, ...q } = req.query;
      return bus.request(HistoryContentsList, { actor: actorOf(req), history_id: req.params.id, ...q }, { timeoutMs });
    },
  );
  app.get(
    "/api/histories/:id/contents/:item_id",
    { schema: { tags, summary: "One item of a history (detailed view)", params: ItemParams, querystring: OneQuery, response: { 200: DatasetObject } } },
    async (req) => bus.request(DatasetGet, { actor: actorOf(req), history_id: req.params.id, dataset_id: req.params.item_id, ...viewOf(req.query) }, { timeoutMs }),
  );

  // Uploads: the body is not parsed here but streamed on as it arrives (never buffered whole).
  await app.register(async (scope) => {
    const upload = scope.withTypeProvider<TypeBoxTypeProvider>();
    upload.addContentTypeParser("multipart/form-data", (req, _payload, done) => done(null, detachedBody(req.raw)));
    upload.post(
      "/api/histories/:id/contents",
      {
        schema: {
          tags,
          summary: "Upload files (multipart/form-data, streamed) or fetch a URL (JSON {src: \"url\", url, name?, file_type?})",
          description: "Multipart: any number of file parts; a `file_type` field applies to the files after it, a `name` field to the next file. Answers `{outputs: [dataset, …]}`.",
          params: IdParams,
          querystring: KeyQuery,
        },
      },
      async (req, reply) => upload.proxyToHistory(req, reply, `/internal/v1/histories/${req.params.id}/contents`),
    );
  });
};
