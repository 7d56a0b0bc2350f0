import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { type DatasetStore, isDatasetStoreError } from "../src/index.ts";
import type { DatasetStoreErrorCode } from "../src/errors.ts";

/** What an implementation's test file gives the one contract suite. */
export interface ContractTarget {
  /** Opens a store on the same place (same directory / bucket) every time. */
  open(options: { readOnly: boolean }): Promise<DatasetStore>;
  /** Temporary files / unfinished multipart uploads left in the store; must be empty after a failed write. */
  leftovers(): Promise<string[]>;
  /** Bytes that make the implementation cross its internal boundary (S3: more than one part). */
  bigEnough: number;
  /** Whether the store offers `openReader` (random access: the file store). */
  positionalReads: boolean;
  setup?(): Promise<void>;
  teardown?(): Promise<void>;
}

export const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");
export const md5 = (b: Buffer) => createHash("md5").update(b).digest("hex");

/** The buffer as a stream of chunks of `size` bytes (last one shorter). */
export function chunked(data: Buffer, size = 64 * 1024): Readable {
  return Readable.from((function* () {
    for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
  })());
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/** A body that sends `bytes` and then stalls until destroyed (a client that stops mid-upload). */
export function stalling(bytes: number): Readable {
  let sent = false;
  return new Readable({
    read() {
      if (sent) return;
      sent = true;
      this.push(randomBytes(bytes));
    },
  });
}

async function rejectsWith(p: Promise<unknown>, code: DatasetStoreErrorCode, status?: number): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isDatasetStoreError(err), `expected a DatasetStoreError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (status !== undefined) assert.equal(err.status, status);
    return true;
  });
}

const uniq = () => randomBytes(6).toString("hex");

/** The one contract every dataset store implementation runs against its real backend. */
export function runDatasetStoreContract(name: string, target: ContractTarget): void {
  describe(`DatasetStore contract: ${name}`, () => {
    let store: DatasetStore;
    let ro: DatasetStore;
    before(async () => {
      await target.setup?.();
      store = await target.open({ readOnly: false });
      ro = await target.open({ readOnly: true });
    });
    after(async () => {
      await store?.close?.();
      await ro?.close?.();
      await target.teardown?.();
    });

    const sizes: Array<[string, number]> = [["0 B", 0], ["1 B", 1], ["10 MB", 10_000_000]];
    for (const [label, size] of sizes) {
      test(`a ${label} blob reads back byte-identical, whole and by range, with independent sha256/md5`, async () => {
        const data = randomBytes(size);
        const key = `rt/${uniq()}/${label.replace(" ", "")}`;
        const blob = await store.write(key, chunked(data, 100_003));
        assert.deepEqual(blob, { key, size, sha256: sha256(data), md5: md5(data) });
        assert.deepEqual(await store.stat(key), { size });
        assert.ok((await readAll(await store.read(key))).equals(data), "whole read equals the bytes written");
        assert.ok((await readAll(await ro.read(key))).equals(data), "a read-only store reads the same bytes");
        const ranges: Array<[number, number | undefined]> = size === 0 ? [[0, undefined]] : [[0, 0], [0, undefined], [size - 1, undefined], [Math.floor(size / 3), Math.floor((2 * size) / 3)], [Math.floor(size / 2), size + 1000]];
        for (const [start, end] of ranges) {
          const got = await readAll(await store.read(key, end === undefined ? { start } : { start, end }));
          const want = data.subarray(start, end === undefined ? undefined : end + 1);
          assert.ok(got.equals(want), `range ${start}-${end ?? ""}: ${got.length} bytes, want ${want.length}`);
        }
      });
    }

    test("a blob larger than the implementation's boundary (S3: several parts) round-trips", async () => {
      const data = randomBytes(target.bigEnough);
      const key = `big/${uniq()}`;
      const blob = await store.write(key, chunked(data, 1 << 20));
      assert.equal(blob.sha256, sha256(data));
      assert.equal(blob.md5, md5(data));
      assert.ok((await readAll(await store.read(key))).equals(data));
      const mid = Math.floor(data.length / 2);
      assert.ok((await readAll(await store.read(key, { start: mid - 10, end: mid + 10 }))).equals(data.subarray(mid - 10, mid + 11)));
    });

    test("readWhole gives a blob of at most maxBytes in one buffer, and null for a larger one", async () => {
      for (const size of [0, 1, 100 * 1024]) {
        const data = randomBytes(size);
        const key = `whole/${uniq()}`;
        await store.write(key, chunked(data, 4096));
        const exact = await store.readWhole(key, size);
        assert.ok(exact?.equals(data), `${size} B with maxBytes = its size`);
        assert.ok((await ro.readWhole(key, size + 1000))?.equals(data), `${size} B with room to spare, read-only store`);
        if (size > 0) assert.equal(await store.readWhole(key, size - 1), null, `${size} B is more than maxBytes ${size - 1}`);
        const into = Buffer.alloc(size + 50, 0xee);
        const view = await ro.readWhole(key, size + 10, into);
        assert.ok(view?.equals(data), `${size} B read into the caller's buffer`);
        assert.ok(view?.buffer === into.buffer, `${size} B: the answer is a view of the caller's buffer`);
        assert.ok(into.subarray(0, size).equals(data));
      }
      await rejectsWith(store.readWhole(`missing/${uniq()}`, 10), "DATASET_STORE_NOT_FOUND", 404);
    });

    test("openReader, where the store has it, reads any span into the caller's buffer and 0 past the end", async () => {
      assert.equal(typeof store.openReader === "function", target.positionalReads, "the store offers positional reads exactly when expected");
      if (!store.openReader || !ro.openReader) return;
      const data = randomBytes(300 * 1024);
      const key = `reader/${uniq()}`;
      await store.write(key, chunked(data));
      const reader = await ro.openReader(key);
      try {
        const into = Buffer.alloc(64 * 1024 + 10);
        assert.equal(await reader.read(into, 10, 64 * 1024, 1000), 64 * 1024);
        assert.ok(into.subarray(10).equals(data.subarray(1000, 1000 + 64 * 1024)), "bytes land at the offset asked for");
        assert.equal(await reader.read(into, 0, 100, data.length - 40), 40, "a read that crosses the end stops there");
        assert.ok(into.subarray(0, 40).equals(data.subarray(data.length - 40)));
        assert.equal(await reader.read(into, 0, 100, data.length), 0, "a read at the end answers 0");
      } finally {
        await reader.close();
      }
      await rejectsWith(store.openReader(`missing/${uniq()}`), "DATASET_STORE_NOT_FOUND", 404);
    });

    test("reading a missing key, or a range starting beyond the end, throws a coded error", async () => {
      await rejectsWith(store.read(`missing/${uniq()}`), "DATASET_STORE_NOT_FOUND", 404);
      assert.equal(await store.stat(`missing/${uniq()}`), null);
      const key = `range/${uniq()}`;
      await store.write(key, chunked(Buffer.from("hello")));
      await rejectsWith(store.read(key, { start: 6 }), "DATASET_STORE_RANGE_INVALID", 416);
      await rejectsWith(store.read(key, { start: 3, end: 2 }), "DATASET_STORE_RANGE_INVALID", 416);
      await rejectsWith(store.read(key, { start: -1 }), "DATASET_STORE_RANGE_INVALID", 416);
      assert.equal((await readAll(await store.read(key, { start: 5 }))).length, 0, "a range starting at the size is empty");
    });

    test("exceeding maxBytes fails with a 413-coded error and leaves nothing behind", async () => {
      const key = `limit/${uniq()}`;
      await rejectsWith(store.write(key, chunked(randomBytes(target.bigEnough), 1 << 20), { maxBytes: target.bigEnough - 1 }), "DATASET_STORE_TOO_LARGE", 413);
      assert.equal(await store.stat(key), null);
      assert.deepEqual(await target.leftovers(), []);
      await rejectsWith(store.write(key, chunked(randomBytes(10)), { maxBytes: 9 }), "DATASET_STORE_TOO_LARGE", 413);
      assert.equal(await store.stat(key), null);
      const exact = randomBytes(10);
      assert.equal((await store.write(key, chunked(exact), { maxBytes: 10 })).size, 10, "exactly maxBytes is allowed");
    });

    test("a write aborted mid-stream (client gone) leaves nothing behind", async () => {
      const key = `abort/${uniq()}`;
      const ac = new AbortController();
      const body = stalling(target.bigEnough);
      body.once("data", () => setTimeout(() => ac.abort(new Error("client disconnected")), 200));
      await rejectsWith(store.write(key, body, { signal: ac.signal }), "DATASET_STORE_ABORTED");
      assert.equal(await store.stat(key), null);
      assert.deepEqual(await target.leftovers(), []);
      await rejectsWith(store.write(key, chunked(Buffer.from("x")), { signal: AbortSignal.abort() }), "DATASET_STORE_ABORTED");
      assert.equal(await store.stat(key), null);
    });

    test("a body that errors mid-stream fails with SOURCE, leaves nothing and keeps the older blob", async () => {
      const key = `broken/${uniq()}`;
      const old = randomBytes(1000);
      await store.write(key, chunked(old));
      const body = stalling(target.bigEnough);
      body.once("data", () => setTimeout(() => body.destroy(new Error("connection reset")), 200));
      await rejectsWith(store.write(key, body), "DATASET_STORE_SOURCE");
      assert.deepEqual(await target.leftovers(), []);
      assert.ok((await readAll(await store.read(key))).equals(old), "the older blob is untouched");
    });

    test("a second write replaces the blob whole", async () => {
      const key = `replace/${uniq()}`;
      await store.write(key, chunked(randomBytes(5000)));
      const next = randomBytes(300);
      await store.write(key, chunked(next));
      assert.ok((await readAll(await store.read(key))).equals(next));
    });

    test("keys that could escape the store or are not plain segments are refused everywhere", async () => {
      const bad = ["../x", "a/../../x", "a/..", "/abs", "a//b", "a/", ".hidden", "a/.tmp-1", ".", "..", "", "a\\b", "a b", "a\0b", "é", "x".repeat(129), "a/b/c/d/e/f/g/h/i"];
      for (const key of bad) {
        await rejectsWith(store.write(key, chunked(Buffer.from("x"))), "DATASET_STORE_KEY_INVALID");
        await rejectsWith(store.read(key), "DATASET_STORE_KEY_INVALID");
        await rejectsWith(store.readWhole(key, 10), "DATASET_STORE_KEY_INVALID");
        await rejectsWith(store.stat(key), "DATASET_STORE_KEY_INVALID");
        await rejectsWith(store.delete(key), "DATASET_STORE_KEY_INVALID");
      }
      assert.deepEqual(await target.leftovers(), []);
    });

    test("delete removes a blob and is idempotent", async () => {
      const key = `del/${uniq()}`;
      await store.write(key, chunked(Buffer.from("bye")));
      await store.delete(key);
      assert.equal(await store.stat(key), null);
      await rejectsWith(store.read(key), "DATASET_STORE_NOT_FOUND");
      await store.delete(key);
      await store.delete(`del/${uniq()}`);
    });

    test("a read-only store refuses write and delete and changes nothing", async () => {
      const key = `ro/${uniq()}`;
      const data = Buffer.from("kept");
      await store.write(key, chunked(data));
      await rejectsWith(ro.write(key, chunked(Buffer.from("changed"))), "DATASET_STORE_READ_ONLY");
      await rejectsWith(ro.write(`ro/${uniq()}`, chunked(Buffer.from("new"))), "DATASET_STORE_READ_ONLY");
      await rejectsWith(ro.delete(key), "DATASET_STORE_READ_ONLY");
      assert.ok((await readAll(await ro.read(key))).equals(data));
      assert.deepEqual(await ro.stat(key), { size: 4 });
    });
  });
}
