import type { Readable } from "node:stream";
import { isStorageError, type ListOptions, type ListPage, type ObjectInfo } from "@skyferry/storage";
import type { AzureClients } from "./clients.ts";
import { call } from "./errors.ts";

interface PropsLike {
  contentLength?: number;
  etag?: string;
  lastModified?: Date;
  contentType?: string;
  contentMD5?: Uint8Array;
  metadata?: Record<string, string>;
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
): Promise<{ info: ObjectInfo; body: Readable }> {
  const blob = (await clients.container(bucket)).getBlobClient(key);
  const count = range?.end !== undefined ? range.end - range.start + 1 : undefined;
  const r = await call("download", () => blob.download(range?.start ?? 0, count));
  const total = r.contentRange ? Number(r.contentRange.split("/")[1]) : r.contentLength;
  return { info: toInfo(key, r, total ?? 0), body: r.readableStreamBody as Readable };
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
