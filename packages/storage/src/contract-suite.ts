import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { isStorageError, type StorageErrorCode } from "./errors.ts";
import type { CompletedPart, ObjectStore } from "./port.ts";
import { bodyOf, failingBody, md5Hex, readAll, readerOf, sha256Hex, slowBody, testBytes, uniqueBucket } from "./contract-helpers.ts";

export { bodyOf, failingBody, md5Hex, readAll, readerOf, sha256Hex, slowBody, stackVar, testBytes, uniqueBucket } from "./contract-helpers.ts";

/** What the contract suite needs from an adapter's test file besides a store. */
export interface ContractOptions {
  /** Creates a bucket/container (with the provider's SDK; the port has no such verb). */
  createBucket(name: string): Promise<void>;
  /** Deletes a bucket/container and everything in it, including unfinished uploads. */
  deleteBucket(name: string): Promise<void>;
  /** A store on the same server whose credentials are wrong (e.g. a bad secret). */
  makeStoreWithWrongCredentials(): ObjectStore;
  /**
   * A store whose credentials come from a function issuing credentials that live `lifetimeMs`;
   * `refreshes()` counts the function's calls.
   */
  makeRenewingStore(lifetimeMs: number): { store: ObjectStore; refreshes(): number };
  /** Part size for multipart tests: the provider's minimum (S3: 5 MiB). */
  partSize: number;
  /**
   * Whether the provider keeps unfinished uploads for `listUploads` to list and `abort` to abandon
   * (S3); false where there are none (Azure: uncommitted blocks, see `ObjectStore.listUploads`).
   */
  keepsUploads: boolean;
}

/** Expects `fn` to reject with a StorageError carrying one of `codes`. */
export async function rejectsWith(fn: () => Promise<unknown>, ...codes: StorageErrorCode[]): Promise<void> {
  await assert.rejects(fn, (err: unknown) => {
    assert.ok(isStorageError(err), `expected a StorageError, got ${String(err)}`);
    assert.ok(codes.includes(err.storageCode), `expected ${codes.join("|")}, got ${err.storageCode}: ${err.message}`);
    return true;
  });
}

/**
 * The one contract every `ObjectStore` adapter runs against its real server (node:test).
 * Creates a unique bucket for the run and deletes it afterwards.
 */
export function runObjectStoreContract(name: string, makeStore: () => ObjectStore, opts: ContractOptions): void {
  describe(`ObjectStore contract: ${name}`, () => {
    const bucket = uniqueBucket("sf-contract");
    const store = makeStore();
    const P = opts.partSize;
    const closing: ObjectStore[] = [store];
    before(() => opts.createBucket(bucket));
    after(async () => {
      await opts.deleteBucket(bucket);
      for (const s of closing) await s.close();
    });

    const roundTrip = async (key: string, data: Buffer): Promise<void> => {
      const info = await store.head(bucket, key);
      assert.ok(info, `${key} exists`);
      assert.equal(info.size, data.length);
      assert.equal(info.metadata.sha256, sha256Hex(data));
      const got = await store.get(bucket, key);
      assert.ok((await readAll(got.body)).equals(data), "bytes read back equal bytes sent");
    };

    test("put then head and get return the same bytes and the sha256 metadata", async () => {
      const data = testBytes(100_000);
      const r = await store.put({ bucket, key: "single/a.bin", body: bodyOf(data), size: data.length, sha256: sha256Hex(data), metadata: { origin: "contract" } });
      assert.equal(r.sha256, sha256Hex(data));
      assert.equal(r.size, data.length);
      await roundTrip("single/a.bin", data);
      assert.equal((await store.head(bucket, "single/a.bin"))?.metadata.origin, "contract");
    });

    test("0-byte and 1-byte objects round-trip", async () => {
      for (const data of [Buffer.alloc(0), Buffer.from([0x2a])]) {
        const key = `tiny/${data.length}`;
        await store.put({ bucket, key, body: bodyOf(data), size: data.length });
        await roundTrip(key, data);
      }
    });

    test("a multipart put with a size that is not a multiple of the part size round-trips, sha256 computed when not given", async () => {
      const data = testBytes(3 * P + 12_345);
      const parts: CompletedPart[] = [];
      const r = await store.put({ bucket, key: "multi/a.bin", body: () => bodyOf(data), size: data.length, partSize: P, onPartDone: (p) => void parts.push(p) });
      assert.equal(parts.length, 4);
      assert.equal(r.partsUploaded, 4);
      assert.deepEqual(parts.map((p) => p.size).sort((a, b) => a - b), [12_345, P, P, P]);
      assert.equal(r.sha256, sha256Hex(data));
      await roundTrip("multi/a.bin", data);
    });

    test("a body given whole (a buffer, or a function giving one) round-trips in one part and in several", async () => {
      const small = testBytes(100_000);
      const r = await store.put({ bucket, key: "whole/single.bin", body: small, size: small.length, sha256: sha256Hex(small), md5: md5Hex(small) });
      assert.equal(r.sha256, sha256Hex(small));
      await roundTrip("whole/single.bin", small);
      const big = testBytes(2 * P + 77);
      const parts: CompletedPart[] = [];
      await store.put({ bucket, key: "whole/multi.bin", body: async () => big, size: big.length, partSize: P, onPartDone: (p) => void parts.push(p) });
      assert.equal(parts.length, 3);
      await roundTrip("whole/multi.bin", big);
      await rejectsWith(() => store.put({ bucket, key: "whole/long", body: testBytes(101), size: 100 }), "INTEGRITY");
      await rejectsWith(() => store.put({ bucket, key: "whole/short", body: async () => testBytes(99), size: 100, partSize: P }), "INTEGRITY");
      for (const key of ["whole/long", "whole/short"]) assert.equal(await store.head(bucket, key), null, key);
    });

    test("a body given as a reader (a file) round-trips in one part and in several, and is closed", async () => {
      // Larger than a buffered one-PUT (S3: 256 KiB) and than one read of the S3 reader path (512 KiB).
      const one = testBytes(1300 * 1024 + 3);
      const single = readerOf(one, { maxRead: 100_000 });
      const r = await store.put({ bucket, key: "reader/single.bin", body: async () => single, size: one.length, partSize: one.length, sha256: sha256Hex(one), md5: md5Hex(one), metadata: { origin: "reader" } });
      assert.equal(r.sha256, sha256Hex(one));
      await roundTrip("reader/single.bin", one);
      assert.equal((await store.head(bucket, "reader/single.bin"))?.metadata.origin, "reader");
      const big = testBytes(2 * P + 77);
      const multi = readerOf(big);
      const parts: CompletedPart[] = [];
      await store.put({ bucket, key: "reader/multi.bin", body: async () => multi, size: big.length, partSize: P, sha256: sha256Hex(big), onPartDone: (p) => void parts.push(p) });
      assert.equal(parts.length, 3);
      await roundTrip("reader/multi.bin", big);
      assert.deepEqual([single.closes(), multi.closes()], [1, 1], "each reader closed once");
    });

    test("a reader longer or shorter than declared, or whose bytes have another sha256, is INTEGRITY, leaves no object and is closed", async () => {
      const data = testBytes(700 * 1024);
      const declared = { size: data.length, partSize: data.length, sha256: sha256Hex(data), md5: md5Hex(data) };
      const cases = {
        long: readerOf(Buffer.concat([data, Buffer.from("x")])),
        short: readerOf(data.subarray(0, data.length - 1)),
        other: readerOf(Buffer.concat([data.subarray(0, 1000), Buffer.alloc(1, data[1000]! ^ 1), data.subarray(1001)])),
      };
      for (const [name, reader] of Object.entries(cases)) {
        await rejectsWith(() => store.put({ bucket, key: `reader/bad-${name}`, body: async () => reader, ...declared }), "INTEGRITY");
        assert.equal(await store.head(bucket, `reader/bad-${name}`), null, `${name}: no object`);
        assert.equal(reader.closes(), 1, `${name}: closed`);
      }
      const longer = testBytes(2 * P + 1);
      const longMulti = readerOf(longer);
      await rejectsWith(() => store.put({ bucket, key: "reader/bad-long-multi", body: async () => longMulti, size: 2 * P, partSize: P, sha256: sha256Hex(longer.subarray(0, 2 * P)) }), "INTEGRITY");
      assert.equal(await store.head(bucket, "reader/bad-long-multi"), null);
      assert.equal(longMulti.closes(), 1);
    });

    test("a put whose signal fires while it reads a reader is ABORTED, leaves no object and closes the reader", async () => {
      const data = testBytes(1500 * 1024);
      const reader = readerOf(data, { maxRead: 64 * 1024, delayMs: 20 });
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 100);
      await rejectsWith(() => store.put({ bucket, key: "reader/aborted", body: async () => reader, size: data.length, partSize: data.length, sha256: sha256Hex(data), md5: md5Hex(data), signal: ac.signal }), "ABORTED");
      assert.equal(await store.head(bucket, "reader/aborted"), null);
      assert.equal(reader.closes(), 1);
    });

    test("get with a range returns exactly those bytes (end inclusive)", async () => {
      const data = testBytes(50_000);
      await store.put({ bucket, key: "range.bin", body: bodyOf(data), size: data.length });
      const mid = await store.get(bucket, "range.bin", { start: 100, end: 199 });
      assert.ok((await readAll(mid.body)).equals(data.subarray(100, 200)));
      assert.equal(mid.info.size, data.length);
      const tail = await store.get(bucket, "range.bin", { start: 49_990 });
      assert.ok((await readAll(tail.body)).equals(data.subarray(49_990)));
    });

    test("a parallel get returns the object's bytes in order, with the whole object's size, sha256 metadata and MD5", async () => {
      const data = testBytes(1_000_003);
      await store.put({ bucket, key: "par/a.bin", body: bodyOf(data), size: data.length, sha256: sha256Hex(data) });
      const got = await store.get(bucket, "par/a.bin", undefined, { parallel: { concurrency: 3, chunkSize: 100_000 } });
      assert.equal(got.info.size, data.length);
      assert.equal(got.info.metadata.sha256, sha256Hex(data));
      assert.equal(got.info.md5, md5Hex(data), "a single-part object's MD5, told by a ranged read");
      assert.ok((await readAll(got.body)).equals(data), "11 ranges, in order");
      const mid = await store.get(bucket, "par/a.bin", { start: 150_000, end: 849_999 }, { parallel: { concurrency: 2, chunkSize: 128 * 1024 } });
      assert.equal(mid.info.size, data.length);
      assert.ok((await readAll(mid.body)).equals(data.subarray(150_000, 850_000)));
    });

    test("a parallel get of an empty, a 1-byte and a one-range object returns their bytes; a missing key is NOT_FOUND", async () => {
      for (const data of [Buffer.alloc(0), Buffer.from([7]), testBytes(99_999)]) {
        const key = `par/small-${data.length}`;
        await store.put({ bucket, key, body: bodyOf(data), size: data.length });
        const got = await store.get(bucket, key, undefined, { parallel: { concurrency: 4, chunkSize: 100_000 } });
        assert.equal(got.info.size, data.length);
        assert.ok((await readAll(got.body)).equals(data), key);
      }
      await rejectsWith(() => store.get(bucket, "par/none", undefined, { parallel: { concurrency: 2, chunkSize: 1000 } }), "NOT_FOUND");
    });

    test("an object replaced during a parallel get fails the stream with TRANSIENT instead of mixing versions", async () => {
      const before = testBytes(500_000);
      await store.put({ bucket, key: "par/changing", body: bodyOf(before), size: before.length });
      // One range at a time: the ranges after the first are asked for (conditionally) only as the stream is read.
      const got = await store.get(bucket, "par/changing", undefined, { parallel: { concurrency: 1, chunkSize: 100_000 } });
      const after = testBytes(500_000);
      await store.put({ bucket, key: "par/changing", body: bodyOf(after), size: after.length });
      await rejectsWith(() => readAll(got.body), "TRANSIENT");
    });

    test("an aborted parallel get fails the stream with ABORTED", async () => {
      const data = testBytes(300_000);
      await store.put({ bucket, key: "par/aborted", body: bodyOf(data), size: data.length });
      const ac = new AbortController();
      const got = await store.get(bucket, "par/aborted", undefined, { parallel: { concurrency: 2, chunkSize: 100_000 }, signal: ac.signal });
      ac.abort();
      await rejectsWith(() => readAll(got.body), "ABORTED");
    });

    test("create-only is refused with ALREADY_EXISTS on an existing key (single and multipart) and allowed on a new one", async () => {
      const first = testBytes(2 * P + 1);
      await store.put({ bucket, key: "once/a", body: () => bodyOf(first), size: first.length, partSize: P, ifNoneMatch: true });
      await roundTrip("once/a", first);
      const other = testBytes(1000);
      await rejectsWith(() => store.put({ bucket, key: "once/a", body: bodyOf(other), size: other.length, ifNoneMatch: true }), "ALREADY_EXISTS");
      const big = testBytes(2 * P + 2);
      await rejectsWith(() => store.put({ bucket, key: "once/a", body: bodyOf(big), size: big.length, sha256: sha256Hex(big), partSize: P, ifNoneMatch: true }), "ALREADY_EXISTS");
      await roundTrip("once/a", first);
      await store.put({ bucket, key: "once/b", body: bodyOf(other), size: other.length, ifNoneMatch: true });
      await roundTrip("once/b", other);
    });

    test("create-only is decided at commit: a key written after the upload started is not replaced", async () => {
      const mine = testBytes(2 * P + 4);
      const theirs = testBytes(1000);
      let started!: () => void;
      const uploadStarted = new Promise<void>((resolve) => (started = resolve));
      const put = store.put({ bucket, key: "once/late", body: slowBody(mine, P, 300), size: mine.length, sha256: sha256Hex(mine), partSize: P, ifNoneMatch: true, onUploadStarted: () => started() });
      put.catch(() => undefined); // handled below; avoids an unhandled rejection if it fails early
      await uploadStarted;
      await store.put({ bucket, key: "once/late", body: bodyOf(theirs), size: theirs.length });
      await rejectsWith(() => put, "ALREADY_EXISTS");
      await roundTrip("once/late", theirs);
    });

    test("a put without create-only overwrites", async () => {
      const a = testBytes(1000);
      const b = testBytes(2 * P + 3);
      await store.put({ bucket, key: "over", body: bodyOf(a), size: a.length });
      await store.put({ bucket, key: "over", body: bodyOf(b), size: b.length, sha256: sha256Hex(b), partSize: P });
      await roundTrip("over", b);
    });

    test("an interrupted multipart upload resumes: only the missing parts are sent and the object is correct", async () => {
      const data = testBytes(4 * P + 777);
      const sha256 = sha256Hex(data);
      let uploadId = "";
      const parts: CompletedPart[] = [];
      const common = { bucket, key: "resume.bin", size: data.length, sha256, partSize: P, concurrency: 2 };
      await rejectsWith(
        () => store.put({ ...common, body: failingBody(data, 2 * P), onUploadStarted: (id) => void (uploadId = id), onPartDone: (p) => void parts.push(p) }),
        "SOURCE",
      );
      assert.ok(uploadId, "upload id announced");
      assert.deepEqual(parts.map((p) => p.number).sort(), [1, 2]);
      assert.equal(await store.head(bucket, "resume.bin"), null, "nothing committed yet");
      const again: CompletedPart[] = [];
      const started: string[] = [];
      const r = await store.put({ ...common, body: bodyOf(data), resume: { uploadId, parts }, onUploadStarted: (id) => void started.push(id), onPartDone: (p) => void again.push(p) });
      assert.deepEqual(started, [], "the same upload continues");
      assert.deepEqual(again.map((p) => p.number).sort(), [3, 4, 5]);
      assert.equal(r.partsUploaded, 3);
      await roundTrip("resume.bin", data);
    });

    test("a missing bucket is NOT_FOUND", async () => {
      const missing = uniqueBucket("sf-missing");
      assert.equal(await store.bucketExists(missing), false);
      assert.equal(await store.bucketExists(bucket), true);
      await rejectsWith(() => store.put({ bucket: missing, key: "k", body: bodyOf(Buffer.from("x")), size: 1 }), "NOT_FOUND");
      await rejectsWith(() => store.head(missing, "k"), "NOT_FOUND");
      await rejectsWith(() => store.get(missing, "k"), "NOT_FOUND");
      await rejectsWith(() => store.list(missing), "NOT_FOUND");
      await rejectsWith(() => store.delete(missing, "k"), "NOT_FOUND");
      await rejectsWith(() => store.get(bucket, "no-such-key"), "NOT_FOUND");
      assert.equal(await store.head(bucket, "no-such-key"), null);
    });

    test("wrong credentials are refused with INVALID_CREDENTIALS or ACCESS_DENIED", async () => {
      const bad = opts.makeStoreWithWrongCredentials();
      closing.push(bad);
      const data = Buffer.from("secret");
      await rejectsWith(() => bad.put({ bucket, key: "bad", body: bodyOf(data), size: data.length }), "INVALID_CREDENTIALS", "ACCESS_DENIED");
      await rejectsWith(() => bad.list(bucket), "INVALID_CREDENTIALS", "ACCESS_DENIED");
      await rejectsWith(() => bad.bucketExists(bucket), "INVALID_CREDENTIALS", "ACCESS_DENIED");
      assert.equal(await store.head(bucket, "bad"), null);
    });

    test("a digest or size mismatch is INTEGRITY and leaves no object", async () => {
      const data = testBytes(2 * P + 5);
      const wrong = sha256Hex(Buffer.from("something else"));
      await rejectsWith(() => store.put({ bucket, key: "bad/single", body: bodyOf(data.subarray(0, 999)), size: 999, sha256: wrong }), "INTEGRITY");
      await rejectsWith(() => store.put({ bucket, key: "bad/multi", body: bodyOf(data), size: data.length, partSize: P, sha256: wrong }), "INTEGRITY");
      await rejectsWith(() => store.put({ bucket, key: "bad/md5", body: bodyOf(data), size: data.length, partSize: P, sha256: sha256Hex(data), md5: md5Hex(Buffer.from("x")) }), "INTEGRITY");
      await rejectsWith(() => store.put({ bucket, key: "bad/short", body: bodyOf(data.subarray(0, 100)), size: 101 }), "INTEGRITY");
      for (const key of ["bad/single", "bad/multi", "bad/md5", "bad/short"]) assert.equal(await store.head(bucket, key), null, key);
    });

    test("list pages through keys and common prefixes under a prefix", async () => {
      const keys = ["ls/a/1", "ls/a/2", "ls/b/1", "ls/c", "ls/d", "ls/e", "other"];
      for (const key of keys) await store.put({ bucket, key, body: bodyOf(Buffer.from(key)), size: key.length });
      const objects: string[] = [];
      const prefixes: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await store.list(bucket, { prefix: "ls/", delimiter: "/", limit: 2, ...(cursor ? { cursor } : {}) });
        pages += 1;
        objects.push(...page.objects.map((o) => o.key));
        prefixes.push(...page.prefixes);
        cursor = page.cursor;
      } while (cursor && pages < 20);
      assert.ok(pages >= 3, `paged (${pages} pages)`);
      assert.deepEqual(objects.sort(), ["ls/c", "ls/d", "ls/e"]);
      assert.deepEqual(prefixes.sort(), ["ls/a/", "ls/b/"]);
      const all = await store.list(bucket, { prefix: "ls/a/" });
      assert.deepEqual(all.objects.map((o) => [o.key, o.size]), [["ls/a/1", 6], ["ls/a/2", 6]]);
      assert.equal(all.cursor, undefined);
    });

    test("abort and delete are idempotent", async () => {
      const data = testBytes(3 * P);
      let uploadId = "";
      await rejectsWith(() => store.put({ bucket, key: "gone", body: failingBody(data, P), size: data.length, sha256: sha256Hex(data), partSize: P, onUploadStarted: (id) => void (uploadId = id) }), "SOURCE");
      assert.ok(uploadId);
      await store.abort(bucket, "gone", uploadId);
      await store.abort(bucket, "gone", uploadId);
      assert.equal(await store.head(bucket, "gone"), null);
      await store.put({ bucket, key: "del", body: bodyOf(Buffer.from("d")), size: 1 });
      await store.delete(bucket, "del");
      assert.equal(await store.head(bucket, "del"), null);
      await store.delete(bucket, "del");
    });

    test("onUploadStarting comes before a multipart upload exists, never for one part, and a throw from it starts nothing", async () => {
      const data = testBytes(2 * P + 1);
      const events: string[] = [];
      await rejectsWith(() => store.put({
        bucket, key: "intent/a", body: failingBody(data, P), size: data.length, sha256: sha256Hex(data), partSize: P,
        onUploadStarting: async () => void events.push(`starting, ${(await store.listUploads(bucket, "intent/a")).length} listed`),
        onUploadStarted: (id) => void events.push(`started ${id ? "with an id" : "without"}`),
      }), "SOURCE");
      assert.deepEqual(events, ["starting, 0 listed", "started with an id"]);
      const small = testBytes(1000);
      await store.put({ bucket, key: "intent/one", body: bodyOf(small), size: small.length, onUploadStarting: () => assert.fail("called for a one-part put") });
      await assert.rejects(() => store.put({
        bucket, key: "intent/refused", body: () => bodyOf(data), size: data.length, partSize: P,
        onUploadStarting: () => Promise.reject(new Error("intent not recorded")), onUploadStarted: () => assert.fail("started after a refused intent"),
      }), /intent not recorded/);
      assert.deepEqual(await store.listUploads(bucket, "intent/refused"), []);
      for (const u of await store.listUploads(bucket, "intent/a")) await store.abort(bucket, "intent/a", u.uploadId);
    });

    test("listUploads lists the unfinished uploads of exactly a key, started since a time, until they are aborted", async () => {
      const data = testBytes(2 * P + 1);
      const t0 = Date.now();
      const ids: Record<string, string> = {};
      for (const key of ["pending/a", "pending/ab"]) {
        await rejectsWith(() => store.put({ bucket, key, body: failingBody(data, P), size: data.length, sha256: sha256Hex(data), partSize: P, onUploadStarted: (id) => void (ids[key] = id) }), "SOURCE");
      }
      const listed = await store.listUploads(bucket, "pending/a");
      if (opts.keepsUploads) {
        assert.deepEqual(listed.map((u) => [u.key, u.uploadId]), [["pending/a", ids["pending/a"]]], "that key's, not the longer key's");
        assert.ok(Math.abs(listed[0]!.started.getTime() - t0) < 60_000, `started ${listed[0]!.started.toISOString()}, about now`);
        assert.equal((await store.listUploads(bucket, "pending/a", { startedAfter: new Date(t0 - 60_000) })).length, 1);
        assert.deepEqual(await store.listUploads(bucket, "pending/a", { startedAfter: new Date(t0 + 3_600_000) }), [], "none started an hour from now");
      } else {
        assert.deepEqual(listed, [], "no upload kept to list");
      }
      await store.abort(bucket, "pending/a", ids["pending/a"]!);
      assert.deepEqual(await store.listUploads(bucket, "pending/a"), [], "an aborted upload is not listed");
      assert.equal((await store.listUploads(bucket, "pending/ab")).length, opts.keepsUploads ? 1 : 0, "the other key's is still there");
      await store.abort(bucket, "pending/ab", ids["pending/ab"]!);
      assert.deepEqual(await store.listUploads(bucket, "pending/ab"), []);
    });

    test("credentials that expire during an upload are renewed and the upload completes", async () => {
      const { store: renewing, refreshes } = opts.makeRenewingStore(2_000);
      closing.push(renewing);
      const data = testBytes(4 * P + 1);
      const started = Date.now();
      await renewing.put({ bucket, key: "renewed.bin", body: slowBody(data, P, 900), size: data.length, sha256: sha256Hex(data), partSize: P, concurrency: 1 });
      assert.ok(Date.now() - started > 2_000, "the upload outlived the first credentials");
      assert.ok(refreshes() >= 2, `credentials renewed (${refreshes()} fetches)`);
      await roundTrip("renewed.bin", data);
    });
  });
}
