import multipart from "@fastify/multipart";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { type DatasetObject, IdParam } from "@skyferry/contracts";
import { GalaxyCode, invalidField, missingField, SkyferryError } from "@skyferry/errors";
import type { fetchUrl } from "@skyferry/url-fetch";
import type { FastifyRequest } from "fastify";
import { EXTENSION } from "../datasets/datatype-info.ts";
import type { DatasetDoc } from "../datasets/repository.ts";
import { DATASET_DETAILED_KEYS, serializeDataset } from "../datasets/serialize.ts";
import { historyPurged } from "../errors.ts";
import type { HistoryService } from "../histories/service.ts";
import { datasetName } from "../uploads/head-tap.ts";
import type { createIngest } from "../uploads/ingest.ts";
import { pick } from "../views.ts";

export interface UploadRouteOptions {
  histories: HistoryService;
  ingest: ReturnType<typeof createIngest>;
  fetchUrl: typeof fetchUrl;
  maxBytes: number;
  maxFiles: number;
  url: { allowPrivate: boolean; allowlist: readonly string[]; timeoutMs: number; maxRedirects: number };
}

const UrlUpload = Type.Object(
  {
    src: Type.Literal("url"),
    url: Type.String({ minLength: 1, maxLength: 8192 }),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    /** Forces the datatype (`auto` or absent: sniffed); `ext` is Galaxy's fetch-API spelling. */
    file_type: Type.Optional(Type.String({ maxLength: 32 })),
    ext: Type.Optional(Type.String({ maxLength: 32 })),
  },
  { additionalProperties: false },
);
const Params = Type.Object({ id: IdParam("history_id") });
const isUrlUpload = TypeCompiler.Compile(UrlUpload);
/** Multipart fields other than files: `file_type` applies to every later file, `name` to the next one. */
const FORM_FIELDS = new Set(["file_type", "name"]);

const forcedType = (field: string, value: string | undefined): string | undefined => {
  if (value === undefined || value === "" || value === "auto") return undefined;
  if (!EXTENSION.test(value)) throw invalidField(field, `Invalid ${field}: '${value.slice(0, 40)}' is not a datatype extension.`);
  return value;
};
const detailed = (docs: DatasetDoc[]): { outputs: DatasetObject[] } => ({ outputs: docs.map((d) => pick(serializeDataset(d), DATASET_DETAILED_KEYS)) });

/**
 * `POST /internal/v1/histories/:id/contents`: the gateway streams the caller's upload here.
 * multipart/form-data (files streamed one after another straight into the dataset store) or
 * JSON `{"src": "url", "url": …}` (fetched here with the SSRF guard).
 */
export const uploadRoutes: FastifyPluginAsyncTypebox<UploadRouteOptions> = async (app, opts) => {
  await app.register(multipart, {
    // One byte over the limit still reaches the store, whose meter answers 413 first.
    limits: { fileSize: opts.maxBytes + 1, files: opts.maxFiles, fields: 50, fieldSize: 1024, parts: opts.maxFiles + 50, headerPairs: 100 },
  });

  const abortSignalOf = (req: FastifyRequest): AbortSignal => {
    const ac = new AbortController();
    // The client (through the gateway) went away before the body was complete.
    req.raw.once("close", () => {
      if (!req.raw.complete) ac.abort(new Error("client disconnected"));
    });
    req.raw.once("aborted", () => ac.abort(new Error("client disconnected")));
    return ac.signal;
  };

  app.post("/internal/v1/histories/:id/contents", { schema: { params: Params, body: { content: { "application/json": { schema: UrlUpload } } } } }, async (req, reply) => {
    const actor = req.internalActor;
    const historyId = req.params.id;
    const history = await opts.histories.owned(actor.user_id, historyId);
    if (history.purged) throw historyPurged(historyId);
    const signal = abortSignalOf(req);

    if (!req.isMultipart()) {
      // Only JSON reaches the schema (which the type provider cannot see behind a content type,
      // hence the check, true for every JSON body that got here): no body, or another content
      // type, is refused here (was a 500).
      const body: unknown = req.body;
      if (!isUrlUpload.Check(body)) {
        throw new SkyferryError("REQUEST_CONTENT_TYPE_UNSUPPORTED", "Send files as multipart/form-data, or a URL as JSON {\"src\": \"url\", \"url\": …}.", { status: 415, errCode: GalaxyCode.invalid });
      }
      const fileType = forcedType(body.file_type !== undefined ? "file_type" : "ext", body.file_type ?? body.ext);
      const fetched = await opts.fetchUrl(body.url, { ...opts.url, maxBytes: opts.maxBytes, signal });
      const fallback = (() => { try { return new URL(body.url).pathname; } catch { return undefined; } })();
      const doc = await opts.ingest(history, actor, {
        open: async () => fetched.body, name: datasetName(body.name ?? fetched.filename ?? fallback, "url upload"), fileType, sourceUri: body.url, signal,
      });
      return reply.send(detailed([doc]));
    }

    const done: DatasetDoc[] = [];
    let fileType: string | undefined;
    let nextName: string | undefined;
    for await (const part of req.parts()) {
      if (part.type === "field") {
        if (!FORM_FIELDS.has(part.fieldname)) throw invalidField(part.fieldname, `Unknown form field '${part.fieldname.slice(0, 40)}'; expected files and ${[...FORM_FIELDS].join(", ")}.`);
        const value = typeof part.value === "string" ? part.value : "";
        if (part.fieldname === "file_type") fileType = forcedType("file_type", value);
        else nextName = value;
        continue;
      }
      const name = datasetName(nextName ?? part.filename, "upload");
      nextName = undefined;
      done.push(await opts.ingest(history, actor, { open: async () => part.file, name, fileType, signal }));
    }
    if (done.length === 0) throw missingField("files", "The upload has no file part.");
    return reply.send(detailed(done));
  });
};
