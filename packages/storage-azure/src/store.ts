import type { Readable } from "node:stream";
import { abortedError, isStorageError, readInRangesOrWhole, type GetOptions, type ListOptions, type ListPage, type ObjectInfo, type RangeRead } from "@skyferry/storage";
import type { AzureClients } from "./clients.ts";
import { call } from "./errors.ts";

interface PropsLike {
  contentLength?: number | undefined;
  etag?: string | undefined;
  lastModified?: Date | undefined;
  contentType?: string | undefined;
  contentMD5?: Uint8Array | undefined;
  metadata?: Record<string, string> | undefined;
}

function toInfo(key: string, p: PropsLike, size = p.contentLength ?? 0): ObjectInfo {
  return {
    key,
    size,
    etag: (p.etag ?? "").replace(/"/g, ""),
    ...(p.lastModified ? { lastModified: p.lastModified } : {}),
    ...(p.contentType ? { contentType: p.contentType } : {}),
    ...(p.contentMD5 && p.contentMD5.length > 0 ? { md5: Buffer.from(p.contentMD5).toString("hex") } : {}),
    metadata: { ...p.metadata },
  };
}

export async function headBlob(clients: AzureClients, bucket: string, key: string): Promise<ObjectInfo | null> {
  const blob = (await clients.container(bucket)).getBlobClient(key);
  try {
    return toInfo(key, await call("getProperties", () => blob.getProperties()));
  } catch (err) {
    if (isStorageError(err, "NOT_FOUND") && err.providerReason === "BlobNotFound") return null;
    throw err;
  }
}

export async function getBlob(
  clients: AzureClients,
  bucket: string,
  key: string,
  range?: { start: number; end?: number },
  options: GetOptions = {},
): Promise<{ info: ObjectInfo; body: Readable }> {
  const read: RangeRead = (span, ifMatch, signal) => readBlob(clients, bucket, key, span, ifMatch, signal);
  return readInRangesOrWhole(read, range, options);
}

/**
 * One download. A ranged answer carries the whole blob's MD5 as `blobContentMD5` (its
 * `contentMD5`, when present, is the range's), a whole-blob answer as `contentMD5`.
 */
async function readBlob(
  clients: AzureClients,
  bucket: string,
  key: string,
  range: { start: number; end?: number } | undefined,
  ifMatch: string | undefined,
  signal: AbortSignal | undefined,
): Promise<{ info: ObjectInfo; body: Readable }> {
  const blob = (await clients.container(bucket)).getBlobClient(key);
  const count = range?.end !== undefined ? range.end - range.start + 1 : undefined;
  if (signal?.aborted) throw abortedError(signal);
  const r = await call("download", () =>
    blob.download(range?.start ?? 0, count, { ...(ifMatch ? { conditions: { ifMatch: `"${ifMatch}"` } } : {}), ...(signal ? { abortSignal: signal } : {}) }),
  );
  const total = r.contentRange ? Number(r.contentRange.split("/")[1]) : r.contentLength;
  // The response's fields are getters (a class instance): read them, never spread it.
  const md5 = r.contentRange !== undefined ? r.blobContentMD5 : r.contentMD5;
  const props: PropsLike = { etag: r.etag, lastModified: r.lastModified, contentType: r.contentType, contentMD5: md5, metadata: r.metadata };
  return { info: toInfo(key, props, total ?? 0), body: r.readableStreamBody as Readable };
}

export async function listBlobs(clients: AzureClients, bucket: string, options: ListOptions = {}): Promise<ListPage> {
  const container = await clients.container(bucket);
  const settings = { ...(options.cursor ? { continuationToken: options.cursor } : {}), ...(options.limit ? { maxPageSize: options.limit } : {}) };
  const listOptions = options.prefix ? { prefix: options.prefix } : {};
  const pages = options.delimiter
    ? container.listBlobsByHierarchy(options.delimiter, listOptions).byPage(settings)
    : container.listBlobsFlat(listOptions).byPage(settings);
  const page = await call("listBlobs", async () => (await pages.next()).value);
  const segment = page?.segment as { blobItems?: Array<{ name: string; properties: PropsLike }>; blobPrefixes?: Array<{ name: string }> } | undefined;
  return {
    objects: (segment?.blobItems ?? []).map((b) => {
      const i = toInfo(b.name, b.properties);
      return { key: i.key, size: i.size, etag: i.etag, ...(i.lastModified ? { lastModified: i.lastModified } : {}) };
    }),
    prefixes: (segment?.blobPrefixes ?? []).map((p) => p.name),
    ...(page?.continuationToken ? { cursor: page.continuationToken } : {}),
  };
}

export async function deleteBlob(clients: AzureClients, bucket: string, key: string): Promise<void> {
  const blob = (await clients.container(bucket)).getBlobClient(key);
  await call("deleteIfExists", () => blob.deleteIfExists());
}

export async function containerExists(clients: AzureClients, bucket: string): Promise<boolean> {
  const container = await clients.container(bucket);
  return call("container exists", () => container.exists());
}
