import { randomBytes } from "node:crypto";
import type { Readable } from "node:stream";
import type { DatasetObject } from "@skyferry/contracts";
import { GalaxyCode, SkyferryError } from "@skyferry/errors";
import { REQUEST_ID_HEADER, TOKEN_HEADER, USER_HEADER } from "../plugins/history-proxy.ts";

/** What one new dataset is made from: bytes streamed from here, or a URL the history service fetches. */
export type UploadSource =
  | { kind: "bytes"; open: () => Readable; name: string; ext?: string }
  | { kind: "url"; url: string; name?: string; ext?: string };

export interface HistoryUploader {
  /** Makes one dataset in `historyId` for `userId`; answers it in the detailed view. */
  upload(userId: string, requestId: string, historyId: string, source: UploadSource): Promise<DatasetObject>;
}

/** Forbidden in multipart headers: a quote or a line break would end the header early. */
const headerSafe = (s: string) => s.replace(/["\r\n\\]/g, "_");

async function* multipart(boundary: string, fields: Array<[string, string]>, file: { name: string; body: Readable }): AsyncGenerator<Buffer> {
  for (const [k, v] of fields) yield Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`);
  yield Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${headerSafe(file.name)}"\r\nContent-Type: application/octet-stream\r\n\r\n`);
  for await (const chunk of file.body) yield chunk as Buffer;
  yield Buffer.from(`\r\n--${boundary}--\r\n`);
}

/**
 * Uploads made by the Galaxy tool and fetch APIs go through the history service's own upload
 * route (`POST /internal/v1/histories/{id}/contents`), as the gateway's proxied uploads do: bytes
 * streamed, never buffered, into the dataset store; URLs fetched there under its URL policy.
 */
export function createHistoryUploader(opts: { historyUrl: string; token: string }): HistoryUploader {
  return {
    async upload(userId, requestId, historyId, source) {
      if (!opts.token) {
        throw new SkyferryError("GATEWAY_HISTORY_PROXY_UNCONFIGURED", "Uploads are not configured on this gateway (SKYFERRY_INTERNAL_TOKEN).", { status: 503, errCode: GalaxyCode.unavailable });
      }
      const headers: Record<string, string> = { [TOKEN_HEADER]: opts.token, [USER_HEADER]: userId, [REQUEST_ID_HEADER]: requestId };
      let body: string | AsyncIterable<Buffer>;
      if (source.kind === "url") {
        headers["content-type"] = "application/json";
        body = JSON.stringify({ src: "url", url: source.url, ...(source.name ? { name: source.name } : {}), ...(source.ext ? { file_type: source.ext } : {}) });
      } else {
        const boundary = `skyferry-${randomBytes(12).toString("hex")}`;
        headers["content-type"] = `multipart/form-data; boundary=${boundary}`;
        const fields: Array<[string, string]> = [];
        if (source.ext) fields.push(["file_type", source.ext]);
        fields.push(["name", source.name]);
        body = multipart(boundary, fields, { name: source.name, body: source.open() });
      }
      let res: Response;
      try {
        res = await fetch(`${opts.historyUrl}/internal/v1/histories/${historyId}/contents`, { method: "POST", headers, body, duplex: "half" } as RequestInit);
      } catch (cause) {
        throw new SkyferryError("GATEWAY_HISTORY_UNAVAILABLE", "The history service is unavailable; try again shortly.", { status: 503, errCode: GalaxyCode.unavailable, cause });
      }
      const answer = (await res.json().catch(() => ({}))) as { outputs?: DatasetObject[]; err_msg?: string; err_code?: number; code?: string; field?: string };
      if (!res.ok) {
        if (res.status < 500 && typeof answer.err_msg === "string" && typeof answer.err_code === "number") {
          throw new SkyferryError(answer.code ?? "GATEWAY_UPLOAD_REFUSED", answer.err_msg, { status: res.status, errCode: answer.err_code, ...(answer.field ? { field: answer.field } : {}) });
        }
        throw new SkyferryError("GATEWAY_UPLOAD_FAILED", `The upload failed (${res.status}).`, { status: res.status >= 500 ? 502 : res.status, errCode: GalaxyCode.generic });
      }
      const out = answer.outputs?.[0];
      if (!out) throw new SkyferryError("GATEWAY_UPLOAD_FAILED", "The history service answered no dataset.", { status: 502, errCode: GalaxyCode.internal });
      return out;
    },
  };
}
