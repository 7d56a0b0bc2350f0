import { createReadStream } from "node:fs";
import { Readable } from "node:stream";
import multipart from "@fastify/multipart";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { Bus } from "@skyferry/bus";
import { type DatasetObject, DatasetUpdate, isId } from "@skyferry/contracts";
import { GalaxyCode, invalidField, malformedId, missingField, notFound, SkyferryError } from "@skyferry/errors";
import { actorOf } from "../plugins/auth.ts";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { HistoryUploader, UploadSource } from "../galaxy/history-upload.ts";
import { normalizeText, textNormalizer } from "../galaxy/text-normalize.ts";
import { OWNER_HEADER, TUS_PATH, type TusUploads } from "../galaxy/tus.ts";
import { ToolAnswer, toolAnswer } from "../galaxy/upload-job.ts";
import {
  checkFormBody, elementsOfTool, FetchBody, type FetchElement, FILE_FIELD, jsonField, ToolsBody,
} from "../galaxy/upload-requests.ts";

/** The request's JSON object body; other content types (text/plain, none) never reach the schema, so they are refused here (415). */
function jsonObjectBody(req: FastifyRequest): Record<string, unknown> {
  const body = req.body;
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new SkyferryError("REQUEST_CONTENT_TYPE_UNSUPPORTED", "Send a JSON object (application/json) or a multipart/form-data upload.", { status: 415, errCode: GalaxyCode.invalid });
  }
  return body as Record<string, unknown>;
}
export const FETCH_TOOL = "__DATA_FETCH__";
export const UPLOAD_TOOL = "upload1";

export interface GalaxyUploadOptions {
  bus: Bus;
  timeoutMs: number;
  tus: TusUploads;
  uploader: HistoryUploader;
  maxFiles: number;
  /** Largest file one multipart upload part may carry (the history service enforces its own limit too). */
  maxBytes: number;
}

/** A file the client sends: a finished tus session, or a multipart part streamed as it arrives. */
type FileBytes = { open: () => Readable; name?: string; done?: () => Promise<void> };

/**
 * Uploads the way Galaxy's clients make them: the tus endpoint, `POST /api/tools/fetch` (targets
 * and elements: files by tus session or multipart, pasted text, URLs) and `POST /api/tools` with
 * the `upload1` tool. Each makes datasets through the history service's streamed upload route and
 * answers Galaxy's `{outputs, jobs, implicit_collections}`. Register inside `authenticated(...)`.
 */
export const galaxyUploadRoutes: FastifyPluginAsyncTypebox<GalaxyUploadOptions> = async (app, opts) => {
  const { bus, timeoutMs, tus, uploader } = opts;
  const timer = setInterval(() => void tus.expire().catch((err: unknown) => app.log.warn({ err }, "tus expiry failed")), 60_000);
  timer.unref();
  app.addHook("onClose", async () => clearInterval(timer));

  // tus: the body is the tus server's to read, never parsed here.
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser("*", (_req, _payload, done) => done(null));
    const handle = async (req: FastifyRequest, reply: FastifyReply) => {
      const userId = req.actor.user_id;
      const rest = req.url.split("?")[0]!.slice(TUS_PATH.length).replace(/^\/+|\/+$/g, "");
      if (rest) {
        // Another user's session, or no session: the same 404, nothing revealed.
        let owner: string | undefined;
        try { owner = tus.ownerOf(rest); } catch { owner = undefined; }
        if (owner !== userId) throw notFound("TUS_SESSION_NOT_FOUND", "No such upload session.");
      } else if (req.method !== "POST" && req.method !== "OPTIONS") {
        throw notFound("TUS_SESSION_NOT_FOUND", "No such upload session.");
      }
      // The tus server reads the raw header list: any client copy of the owner header goes first.
      const raw = req.raw.rawHeaders;
      // tuspy (BioBlend) sends an empty `Upload-Metadata`, which @tus/server refuses and Galaxy takes as none.
      for (let i = raw.length - 2; i >= 0; i -= 2) {
        const name = raw[i]!.toLowerCase();
        if (name === OWNER_HEADER || (name === "upload-metadata" && raw[i + 1]!.trim() === "")) raw.splice(i, 2);
      }
      if (String(req.raw.headers["upload-metadata"] ?? "x").trim() === "") delete req.raw.headers["upload-metadata"];
      raw.push(OWNER_HEADER, userId);
      req.raw.headers[OWNER_HEADER] = userId;
      void reply.hijack();
      await tus.server.handle(req.raw, reply.raw);
    };
    const methods = ["POST", "HEAD", "PATCH", "DELETE", "OPTIONS"] as const;
    scope.route({ method: [...methods], url: TUS_PATH, handler: handle, schema: { hide: true } });
    scope.route({ method: [...methods], url: `${TUS_PATH}/:session`, handler: handle, schema: { hide: true } });
  });

  const makeDataset = async (req: FastifyRequest, historyId: string, el: FetchElement, file: FileBytes | undefined): Promise<DatasetObject> => {
    const text = { toPosixLines: el.to_posix_lines ?? true, spaceToTab: el.space_to_tab ?? false };
    const name = el.name ?? undefined;
    const ext = el.ext && el.ext !== "auto" ? el.ext : undefined;
    let source: UploadSource;
    if (el.src === "url") {
      if (!el.url) throw missingField("url", "A `src: \"url\"` element needs `url`.");
      source = { kind: "url", url: el.url, ...(name ? { name } : {}), ...(ext ? { ext } : {}) };
    } else if (el.src === "pasted") {
      if (el.paste_content === undefined) throw missingField("paste_content", "A `src: \"pasted\"` element needs `paste_content`.");
      const content = normalizeText(el.paste_content, text);
      source = { kind: "bytes", open: () => Readable.from([Buffer.from(content, "utf8")]), name: name ?? "Pasted Entry", ...(ext ? { ext } : {}) };
    } else {
      if (!file) throw missingField("files", "A `src: \"files\"` element has no file (files_N|file_data).");
      source = { kind: "bytes", open: () => file.open().pipe(textNormalizer(text)), name: name ?? file.name ?? "upload", ...(ext ? { ext } : {}) };
    }
    let d = await uploader.upload(req.actor.user_id, String(req.id), historyId, source);
    await file?.done?.();
    if (el.dbkey && el.dbkey !== "?") {
      d = await bus.request(DatasetUpdate, { actor: actorOf(req), dataset_id: d.id ?? "", changes: { genome_build: el.dbkey } }, { timeoutMs });
    }
    return d;
  };

  const tusFile = async (req: FastifyRequest, ref: { session_id: string; name?: string }): Promise<FileBytes> => {
    const { path } = await tus.finished(req.actor.user_id, ref.session_id);
    return { open: () => createReadStream(path), ...(ref.name ? { name: ref.name } : {}), done: () => tus.remove(ref.session_id) };
  };

  /**
   * Runs the elements in order. `files` elements take file slots 0, 1, … in turn; a slot's bytes
   * come from `fileOf` (a tus session) or, in a multipart request, from `parts` as they arrive.
   */
  const run = async (
    req: FastifyRequest,
    historyId: string,
    elements: FetchElement[],
    fileOf: (slot: number) => Promise<FileBytes | undefined>,
  ): Promise<DatasetObject[]> => {
    if (!isId(historyId)) throw malformedId("history_id", historyId);
    if (elements.length > opts.maxFiles) throw invalidField("targets", `At most ${opts.maxFiles} elements per request.`);
    const out: DatasetObject[] = [];
    let slot = 0;
    for (const el of elements) out.push(await makeDataset(req, historyId, el, el.src === "files" ? await fileOf(slot++) : undefined));
    return out;
  };

  /** A multipart request: text fields first, then `files_N|file_data` parts, each streamed on as it arrives. */
  const fromMultipart = async (req: FastifyRequest, kind: "fetch" | "tools") => {
    const fields: Record<string, unknown> = {};
    const parts = req.parts()[Symbol.asyncIterator]();
    let pending: { slot: number; file: Readable; name: string } | undefined;
    for (;;) {
      const next = await parts.next();
      if (next.done) break;
      const part = next.value;
      if (part.type === "field") {
        const v = typeof part.value === "string" ? part.value : String(part.value);
        fields[part.fieldname] = part.fieldname === "targets" || part.fieldname === "inputs" ? jsonField(part.fieldname, v) : part.fieldname === "auto_decompress" ? v === "true" : v;
        continue;
      }
      const m = FILE_FIELD.exec(part.fieldname);
      if (!m) throw invalidField(part.fieldname, `Unexpected file field '${part.fieldname.slice(0, 40)}' (expected files_N|file_data).`);
      pending = { slot: Number(m[1]), file: part.file, name: part.filename };
      break; // the file parts are read while the elements run, in order
    }
    const body = checkFormBody<FetchBody | ToolsBody>(kind, fields);
    const fileOf = async (slot: number): Promise<FileBytes | undefined> => {
      const ref = (body as Record<string, unknown>)[`files_${slot}|file_data`];
      if (ref && typeof ref === "object") return tusFile(req, ref as { session_id: string });
      if (!pending) {
        const next = await parts.next();
        if (!next.done && next.value.type === "file") {
          const m = FILE_FIELD.exec(next.value.fieldname);
          if (!m) throw invalidField(next.value.fieldname, "Unexpected file field (expected files_N|file_data).");
          pending = { slot: Number(m[1]), file: next.value.file, name: next.value.filename };
        } else if (!next.done) throw invalidField(next.value.fieldname, "Form fields must come before the files.");
      }
      if (!pending || pending.slot !== slot) throw missingField(`files_${slot}|file_data`, `No file for files_${slot}|file_data (files must come in order).`);
      const p = pending;
      pending = undefined;
      return { open: () => p.file, name: p.name };
    };
    return { body, fileOf, hasFile: pending !== undefined };
  };

  const fetchElements = (body: FetchBody) => body.targets.flatMap((t) => t.elements);

  await app.register(async (scope) => {
    await scope.register(multipart, { limits: { fileSize: opts.maxBytes, files: opts.maxFiles, fields: 50, fieldSize: 16 * 1024 * 1024, parts: opts.maxFiles + 50, headerPairs: 100 } });
    const tags = ["uploads"];
    scope.post(
      "/api/tools/fetch",
      {
        schema: {
          tags,
          summary: "Galaxy's data fetch: targets of `hdas` elements (`src`: files by tus session or multipart `files_N|file_data`, pasted, url)",
          body: { content: { "application/json": { schema: FetchBody } } },
          response: { 200: ToolAnswer },
        },
      },
      async (req) => {
        if (req.isMultipart()) {
          const { body, fileOf } = await fromMultipart(req, "fetch");
          const fetch = body as FetchBody;
          return toolAnswer(await run(req, fetch.history_id, fetchElements(fetch), fileOf), FETCH_TOOL);
        }
        const body = jsonObjectBody(req) as FetchBody;
        const fileOf = async (slot: number) => {
          const ref = body[`files_${slot}|file_data`] as { session_id: string; name?: string } | undefined;
          return ref ? tusFile(req, ref) : undefined;
        };
        return toolAnswer(await run(req, body.history_id, fetchElements(body), fileOf), FETCH_TOOL);
      },
    );
    scope.post(
      "/api/tools",
      {
        schema: { tags, summary: "Run a tool: only Galaxy's `upload1` (files_0|file_data, files_0|url_paste)", body: { content: { "application/json": { schema: ToolsBody } } }, response: { 200: ToolAnswer } },
      },
      async (req) => {
        const multipartReq = req.isMultipart();
        const form = multipartReq ? await fromMultipart(req, "tools") : undefined;
        const body = (form?.body ?? jsonObjectBody(req)) as ToolsBody;
        if (body.tool_id !== UPLOAD_TOOL) throw notFound("TOOL_NOT_FOUND", `Tool '${body.tool_id.slice(0, 60)}' is not available here; only '${UPLOAD_TOOL}' is.`);
        const elements = elementsOfTool(body, form?.hasFile ?? false);
        const fileOf = form?.fileOf ?? (async () => undefined);
        return toolAnswer(await run(req, body.history_id, elements, fileOf), UPLOAD_TOOL);
      },
    );
  });
};
