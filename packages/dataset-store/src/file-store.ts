import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { type FileHandle, mkdir, open, rename, rm, stat as fsStat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Logger } from "@skyferry/logger";
import { ioError, notFound, readOnly as readOnlyError } from "./errors.ts";
import { throwIfAborted, writeFailure } from "./fail.ts";
import { checkKey } from "./keys.ts";
import { Meter } from "./meter.ts";
import { checkRange } from "./range.ts";
import type { DatasetStore } from "./types.ts";

export interface FileDatasetStoreOptions {
  /** The store's directory; created on open unless read-only. */
  dir: string;
  readOnly?: boolean;
  logger?: Logger;
}

/**
 * The `file` dataset store: key `a/b/c` is the file `<dir>/a/b/c`. A write streams into a
 * temporary `.tmp-*` file in the target's directory, fsyncs it, renames it over the key and
 * fsyncs the directory, so a key exists only once its bytes are durable.
 */
export async function createFileDatasetStore(options: FileDatasetStoreOptions): Promise<DatasetStore> {
  const root = resolve(options.dir);
  if (!options.readOnly) await mkdir(root, { recursive: true });
  const path = (key: string) => join(root, ...checkKey(key));

  return {
    kind: "file",

    async write(key, body, { maxBytes, signal } = {}) {
      if (options.readOnly) throw readOnlyError();
      const target = path(key);
      throwIfAborted(signal);
      const dir = dirname(target);
      await mkdir(dir, { recursive: true });
      const temp = join(dir, `.tmp-${randomBytes(8).toString("hex")}`);
      const meter = new Meter(maxBytes);
      try {
        // `flush`: fsync before the stream closes its descriptor, so the rename publishes durable bytes.
        await pipeline(body, meter, createWriteStream(temp, { flags: "wx", mode: 0o644, flush: true }), signal ? { signal } : {});
        throwIfAborted(signal);
        await rename(temp, target);
        await syncDir(dir);
      } catch (err) {
        await rm(temp, { force: true }).catch((e: unknown) => options.logger?.warn({ err: e, path: temp }, "could not remove a temporary dataset file"));
        throw writeFailure(err, signal);
      }
      return { key, size: meter.bytes, ...meter.digests() };
    },

    async read(key, range) {
      const p = path(key);
      let handle: FileHandle;
      try {
        handle = await open(p, "r");
      } catch (err) {
        throw isMissing(err) ? notFound(key, err) : ioError(`Reading '${key}' failed.`, err);
      }
      try {
        const { size } = await handle.stat();
        const span = checkRange(range, size);
        if (span === "empty") {
          await handle.close();
          return Readable.from([]);
        }
        return handle.createReadStream(span ?? {});
      } catch (err) {
        await handle.close();
        throw err;
      }
    },

    async stat(key) {
      const p = path(key);
      try {
        const s = await fsStat(p);
        return s.isFile() ? { size: s.size } : null;
      } catch (err) {
        if (isMissing(err)) return null;
        throw ioError(`Stat of '${key}' failed.`, err);
      }
    },

    async delete(key) {
      const p = path(key);
      if (options.readOnly) throw readOnlyError();
      await rm(p, { force: true }).catch((err: unknown) => {
        throw ioError(`Deleting '${key}' failed.`, err);
      });
    },

    async close() {},
  };
}

const isMissing = (err: unknown) => {
  const code = (err as { code?: string } | null)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
};

// The rename is durable only once the directory entry is; not every platform can fsync a directory.
async function syncDir(dir: string): Promise<void> {
  const h = await open(dir, "r");
  try {
    await h.sync().catch((err: unknown) => {
      const code = (err as { code?: string }).code;
      if (code !== "EINVAL" && code !== "EISDIR" && code !== "EPERM") throw err;
    });
  } finally {
    await h.close();
  }
}
