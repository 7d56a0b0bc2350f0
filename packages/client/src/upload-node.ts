import { randomBytes } from "node:crypto";
import { createReadStream, statSync } from "node:fs";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { basename } from "node:path";
import type { Skyferry } from "./client.ts";
import { clientError, errorFromText } from "./errors.ts";
import type { Dataset } from "./types.ts";

export interface UploadProgress {
  /** Body bytes handed to the socket so far (file bytes plus multipart framing). */
  loaded: number;
  total: number;
}

export interface NodeUploadOptions {
  /** The dataset's name in the history; default the file's base name. */
  name?: string;
  /** Galaxy datatype, default `auto` (sniffed). */
  fileType?: string;
  onProgress?: (p: UploadProgress) => void;
  signal?: AbortSignal;
}

/**
 * Uploads one file from disk into a history (`POST /api/histories/{id}/contents`, multipart),
 * streamed with backpressure and a Content-Length, so progress is the bytes actually written.
 * Plain node:http rather than fetch: fetch reports no upload progress.
 */
export async function uploadFile(sky: Skyferry, historyId: string, path: string, opts: NodeUploadOptions = {}): Promise<Dataset[]> {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (err) {
    throw clientError("CLIENT_FILE", `${path}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message}`, err);
  }
  const boundary = `----skyferry${randomBytes(12).toString("hex")}`;
  const name = (opts.name ?? basename(path)).replace(/["\r\n]/g, "_");
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file_type"\r\n\r\n${opts.fileType ?? "auto"}\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="files_0|file_data"; filename="${name}"\r\nContent-Type: application/octet-stream\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const total = head.length + size + tail.length;
  const url = new URL(`${sky.baseUrl}/api/histories/${encodeURIComponent(historyId)}/contents`);
  const send = url.protocol === "https:" ? httpsRequest : httpRequest;
  const req = send(url, {
    method: "POST",
    headers: { ...sky.authHeaders(), accept: "application/json", "content-type": `multipart/form-data; boundary=${boundary}`, "content-length": String(total) },
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  const response = new Promise<IncomingMessage>((resolve, reject) => {
    req.once("response", resolve);
    req.once("error", (err) => reject(opts.signal?.aborted ? clientError("CLIENT_ABORTED", "The upload was cancelled.", err) : clientError("CLIENT_UNREACHABLE", `The upload failed: ${err.message}`, err)));
  });
  response.catch(() => undefined);
  let loaded = 0;
  const write = (chunk: Buffer) =>
    new Promise<void>((resolve) => {
      loaded += chunk.length;
      opts.onProgress?.({ loaded, total });
      if (req.write(chunk)) resolve();
      else req.once("drain", resolve);
    });
  try {
    await write(head);
    for await (const chunk of createReadStream(path, { highWaterMark: 256 * 1024 })) {
      if (req.destroyed) break;
      await write(chunk as Buffer);
    }
    await write(tail);
    req.end();
  } catch (err) {
    req.destroy();
    throw clientError("CLIENT_FILE", `${path}: ${(err as Error).message}`, err);
  }
  const res = await response;
  let text = "";
  for await (const c of res) text += c;
  const status = res.statusCode ?? 0;
  if (status < 200 || status >= 300) throw errorFromText(status, text, res.statusMessage);
  const body = JSON.parse(text) as { outputs?: Dataset[] } | Dataset[];
  return Array.isArray(body) ? body : (body.outputs ?? []);
}
