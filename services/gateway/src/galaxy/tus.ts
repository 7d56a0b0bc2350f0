import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { FileStore } from "@tus/file-store";
import { Server } from "@tus/server";
import { isId } from "@skyferry/contracts";
import { forbidden, invalidField, malformedId, notFound } from "@skyferry/errors";

/** Galaxy's tus endpoint (BioBlend: `<url>/upload/resumable_upload`). */
export const TUS_PATH = "/api/upload/resumable_upload";
/**
 * Set by the gateway on the request before the tus server sees it (any client value overwritten):
 * a session's id starts with its owner's user id, so ownership needs no second store.
 */
export const OWNER_HEADER = "x-skyferry-tus-owner";
/** `<user id>-<32 hex>`: the owner, then a random part no one can guess. */
const SESSION = /^([0-9a-f]{16})-[0-9a-f]{32}$/;

export interface TusOptions {
  directory: string;
  maxBytes: number;
  expiryMs: number;
}

export type TusUploads = ReturnType<typeof createTusUploads>;

/** The tus server (`@tus/server` over a file store) and the few things the fetch API asks of a session. */
export function createTusUploads(opts: TusOptions) {
  mkdirSync(opts.directory, { recursive: true });
  const store = new FileStore({ directory: opts.directory, expirationPeriodInMilliseconds: opts.expiryMs });
  const server = new Server({
    path: TUS_PATH,
    datastore: store,
    maxSize: opts.maxBytes,
    relativeLocation: true,
    namingFunction: (req) => {
      const owner = req.headers.get(OWNER_HEADER) ?? "";
      if (!isId(owner)) throw { status_code: 401, body: "Authentication required.\n" };
      return `${owner}-${randomBytes(16).toString("hex")}`;
    },
  });

  /** The session's owner, or a 400 for something that is not a session id. */
  const ownerOf = (sessionId: string, field = "session_id"): string => {
    const m = SESSION.exec(sessionId);
    if (!m) throw malformedId(field, sessionId);
    return m[1]!;
  };

  return {
    server,
    ownerOf,
    /** A finished upload of `userId`: its file path and size; 404 when unknown, 403 when another user's, 400 when unfinished. */
    async finished(userId: string, sessionId: string): Promise<{ path: string; size: number }> {
      if (ownerOf(sessionId) !== userId) throw forbidden("TUS_SESSION_FORBIDDEN", "This upload session belongs to another user.");
      const upload = await store.getUpload(sessionId).catch(() => {
        throw notFound("TUS_SESSION_NOT_FOUND", `No upload session '${sessionId}' (it may have expired).`);
      });
      if (upload.size === undefined || upload.offset !== upload.size) {
        throw invalidField("session_id", `Upload session '${sessionId}' is not finished (${upload.offset} of ${upload.size ?? "?"} bytes).`);
      }
      return { path: `${opts.directory}/${sessionId}`, size: upload.size };
    },
    /** Forgets a session once its bytes are in the dataset store. */
    remove: (sessionId: string) => store.remove(sessionId).catch(() => undefined),
    /** Removes sessions not written to for `expiryMs`. */
    expire: () => server.cleanUpExpiredUploads(),
  };
}
