import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import { request as httpRequest, type IncomingMessage } from "node:http";
import type { Readable } from "node:stream";

// Helpers for the history tests: deterministic content streamed from a generator (never held
// whole in memory), a streaming multipart client, and independent hashing of responses.

/** Deterministic bytes of any size: a random 1 MiB block, each copy stamped with its index. */
export class Pattern {
  static readonly BLOCK = 1024 * 1024;
  private readonly block = randomBytes(Pattern.BLOCK);
  readonly size: number;
  constructor(size: number) {
    this.size = size;
  }

  private blockAt(i: number): Buffer {
    const b = Buffer.from(this.block);
    b.writeUInt32BE(i, 0);
    return b;
  }

  /** The content, chunk by chunk. */
  async *chunks(): AsyncGenerator<Buffer> {
    for (let off = 0, i = 0; off < this.size; off += Pattern.BLOCK, i++) {
      const b = this.blockAt(i);
      yield off + b.length <= this.size ? b : b.subarray(0, this.size - off);
    }
  }

  /** Bytes `start..end` (inclusive), as a Range request should return them. */
  slice(start: number, end: number): Buffer {
    const parts: Buffer[] = [];
    for (let off = start; off <= end; ) {
      const i = Math.floor(off / Pattern.BLOCK);
      const inBlock = off - i * Pattern.BLOCK;
      const take = Math.min(Pattern.BLOCK - inBlock, end - off + 1);
      parts.push(this.blockAt(i).subarray(inBlock, inBlock + take));
      off += take;
    }
    return Buffer.concat(parts);
  }

  /** sha256 / md5 computed here, independently of the server. */
  async digests(): Promise<{ sha256: string; md5: string }> {
    const s = createHash("sha256");
    const m = createHash("md5");
    for await (const c of this.chunks()) {
      s.update(c);
      m.update(c);
    }
    return { sha256: s.digest("hex"), md5: m.digest("hex") };
  }
}

export interface UploadFile {
  name: string;
  content: Pattern | Buffer;
}

export interface UploadResult {
  status: number;
  body: { outputs?: Array<Record<string, unknown>>; err_msg?: string; err_code?: number; [k: string]: unknown };
}

/**
 * POSTs `files` as multipart/form-data to `/api/histories/{id}/contents`, streamed with
 * backpressure. `fields` go before the files. `abortAfterBytes`: destroy the request after that
 * many body bytes (a client disconnecting mid-upload); resolves with status 0 then.
 */
export async function uploadMultipart(
  baseUrl: string,
  apiKey: string,
  historyId: string,
  files: UploadFile[],
  opts: { fields?: Array<[string, string]>; abortAfterBytes?: number } = {},
): Promise<UploadResult> {
  const boundary = `----skyferry${randomBytes(8).toString("hex")}`;
  const pieces: Array<Buffer | Pattern> = [];
  for (const [k, v] of opts.fields ?? []) pieces.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
  for (const f of files) {
    pieces.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="${f.name}"\r\nContent-Type: application/octet-stream\r\n\r\n`));
    pieces.push(f.content, Buffer.from("\r\n"));
  }
  pieces.push(Buffer.from(`--${boundary}--\r\n`));
  const length = pieces.reduce((n, p) => n + (p instanceof Pattern ? p.size : p.length), 0);
  const url = new URL(`/api/histories/${historyId}/contents`, baseUrl);
  const req = httpRequest(url, { method: "POST", headers: { "x-api-key": apiKey, "content-type": `multipart/form-data; boundary=${boundary}`, "content-length": String(length) } });
  const response = new Promise<IncomingMessage>((resolve, reject) => {
    req.once("response", resolve);
    req.once("error", reject);
  });
  response.catch(() => undefined);
  let sent = 0;
  try {
    for (const p of pieces) {
      const chunks = p instanceof Pattern ? p.chunks() : [p];
      for await (const c of chunks) {
        let chunk = c;
        if (opts.abortAfterBytes !== undefined && sent + chunk.length > opts.abortAfterBytes) {
          chunk = chunk.subarray(0, opts.abortAfterBytes - sent);
          req.write(chunk);
          await new Promise((r) => setTimeout(r, 200));
          req.destroy();
          return { status: 0, body: {} };
        }
        sent += chunk.length;
        if (!req.write(chunk)) await Promise.race([once(req, "drain"), response]);
      }
    }
    req.end();
  } catch {
    // The server answered early (e.g. 413) and closed; its response tells why.
  }
  const res = await response;
  const text = await readAll(res);
  return { status: res.statusCode ?? 0, body: text.length ? (JSON.parse(text.toString("utf8")) as UploadResult["body"]) : {} };
}

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/** Streams a response body through sha256/md5 (never held whole). */
export async function hashResponse(res: Response): Promise<{ size: number; sha256: string; md5: string }> {
  const s = createHash("sha256");
  const m = createHash("md5");
  let size = 0;
  for await (const c of res.body as unknown as AsyncIterable<Uint8Array>) {
    s.update(c);
    m.update(c);
    size += c.length;
  }
  return { size, sha256: s.digest("hex"), md5: m.digest("hex") };
}

export const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");
export const md5 = (b: Buffer) => createHash("md5").update(b).digest("hex");

/** JSON API call with the caller's key. */
export async function call<T = Record<string, unknown>>(
  baseUrl: string,
  apiKey: string,
  path: string,
  init: { method?: string; body?: unknown } = {},
): Promise<{ status: number; body: T }> {
  const res = await fetch(new URL(path, baseUrl), {
    method: init.method ?? "GET",
    headers: { "x-api-key": apiKey, ...(init.body !== undefined ? { "content-type": "application/json" } : {}) },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
}
