import { createWriteStream } from "node:fs";
import { type FileHandle, mkdir, open, rename, rm, stat as fsStat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Logger } from "@skyferry/logger";
import { ioError, notFound, readOnly as readOnlyError } from "./errors.ts";
import { throwIfAborted, writeFailure } from "./fail.ts";
import { checkKey } from "./keys.ts";
import { createHashPool } from "./hash-pool.ts";
import { Meter } from "./meter.ts";
import { checkRange } from "./range.ts";
import { removeDeadTemps, tempName } from "./temp-files.ts";
import type { DatasetStore } from "./types.ts";

export interface FileDatasetStoreOptions {
  /** The store's directory; created on open unless read-only. */
  dir: string;
  readOnly?: boolean;
  logger?: Logger;
  /** Threads hashing the bytes of large writes beside the event loop (see Meter); 0 (default): on the event loop. */
  hashThreads?: number;
}

/** Write buffer of a file: 1 MiB for a large or unknown body, 256 KiB for one known to be smaller than LARGE. */
const WRITE_BUFFER = { large: 1024 * 1024, small: 256 * 1024 };
const LARGE = 32 * 1024 * 1024;
/** Largest read of a dataset: one read for a small dataset, few for a large one (see `read`). */
const READ_BUFFER = 256 * 1024;

/**
 * The `file` dataset store: key `a/b/c` is the file `<dir>/a/b/c`. A write streams into a
 * temporary `.tmp-*` file in the target's directory, fsyncs it, renames it over the key and
 * fsyncs the directory, so a key exists only once its bytes are durable (a dataset marked ok
 * after the write survives a crash or a power loss). A write then removes what writers of the
 * same key that died left behind (see temp-files.ts).
 */
export async function createFileDatasetStore(options: FileDatasetStoreOptions): Promise<DatasetStore> {
  const root = resolve(options.dir);
  if (!options.readOnly) await mkdir(root, { recursive: true });
  const path = (key: string) => join(root, ...checkKey(key));
  const pool = options.hashThreads ? createHashPool(options.hashThreads) : undefined;

  /** The blob's file, opened for reading; NOT_FOUND when there is none. */
  const openToRead = async (key: string): Promise<FileHandle> => {
    const p = path(key); // an invalid key is KEY_INVALID, not an I/O error
    try {
      return await open(p, "r");
    } catch (err) {
      throw isMissing(err) ? notFound(key, err) : ioError(`Reading '${key}' failed.`, err);
    }
  };

  return {
    kind: "file",

    async write(key, body, { maxBytes, signal, expectedSize } = {}) {
      if (options.readOnly) throw readOnlyError();
      const target = path(key);
      throwIfAborted(signal);
      const dir = dirname(target);
      await mkdir(dir, { recursive: true });
      const name = basename(target);
      const temp = join(dir, tempName(name));
      const meter = new Meter(maxBytes, pool, expectedSize);
      try {
        // `flush`: fsync before the stream closes its descriptor, so the rename publishes durable bytes.
        // A buffer of several chunks lets them queue while one write is in the kernel: they go as one
        // writev (64 KiB writes one by one cost a third of a fast download; measured on 512 MiB:
        // 16 KiB 190-240 MiB/s, 256 KiB 230-300, 1 MiB 270-320).
        const highWaterMark = expectedSize !== undefined && expectedSize < LARGE ? WRITE_BUFFER.small : WRITE_BUFFER.large;
        const file = createWriteStream(temp, { flags: "wx", mode: 0o644, flush: true, highWaterMark });
        await pipeline(body, meter, file, signal ? { signal } : {});
        throwIfAborted(signal);
        await rename(temp, target);
        await syncDir(dir);
      } catch (err) {
        await rm(temp, { force: true }).catch((e: unknown) => options.logger?.warn({ err: e, path: temp }, "could not remove a temporary dataset file"));
        throw writeFailure(err, signal);
      }
      // A writer of this key killed mid-write (a crashed worker whose job was downloaded again) left its file.
      await removeDeadTemps(dir, name, options.logger);
      return { key, size: meter.bytes, ...meter.digests() };
    },

    async read(key, range) {
      const handle = await openToRead(key);
      try {
        const { size } = await handle.stat();
        const span = checkRange(range, size) ?? (size === 0 ? "empty" : { start: 0, end: size - 1 });
        if (span === "empty") {
          await handle.close();
          return Readable.from([]);
        }
        // The stream stops at the known end (no read that only finds end-of-file) and reads up to
        // 256 KiB at a time: a 100 KiB dataset is one read, a 10 MiB one 40 reads instead of 160
        // (measured with bench:send, 100 x 10 MiB: ~10 % less worker CPU than 64 KiB reads).
        return handle.createReadStream({ ...span, highWaterMark: Math.min(span.end - span.start + 1, READ_BUFFER) });
      } catch (err) {
        await handle.close();
        throw err;
      }
    },

    async readWhole(key, maxBytes, into) {
      const handle = await openToRead(key);
      try {
        // One byte more than allowed tells a larger blob apart without a stat.
        const limit = maxBytes + 1;
        const buf = into && into.length >= limit ? into : Buffer.allocUnsafe(limit);
        let filled = 0;
        for (;;) {
          const { bytesRead } = await handle.read(buf, filled, limit - filled, filled);
          filled += bytesRead;
          if (bytesRead === 0 || filled === limit) break;
        }
        return filled > maxBytes ? null : buf.subarray(0, filled);
      } catch (err) {
        throw ioError(`Reading '${key}' failed.`, err);
      } finally {
        await handle.close().catch(() => undefined);
      }
    },

    async openReader(key) {
      const handle = await openToRead(key);
      return {
        read: async (into, offset, length, position) => {
          try {
            return (await handle.read(into, offset, length, position)).bytesRead;
          } catch (err) {
            throw ioError(`Reading '${key}' failed.`, err);
          }
        },
        close: () => handle.close(),
      };
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

    async close() {
      await pool?.close();
    },
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
