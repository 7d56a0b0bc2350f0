import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { setImmediate as tick } from "node:timers/promises";
import { test } from "node:test";
import { getInRanges, isStorageError, type RangeRead, StorageError } from "../src/index.ts";

// getInRanges over an in-memory object (the adapters run it against their servers in the contract suite).

interface Call { start: number; end: number | undefined; ifMatch: string | undefined }

function memoryObject(data: Buffer, opts: { etag?: string; breakOnce?: number[]; chunk?: number } = {}) {
  const calls: Call[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const broken = new Set(opts.breakOnce ?? []);
  const read: RangeRead = async (range, ifMatch) => {
    calls.push({ start: range?.start ?? -1, end: range?.end, ifMatch });
    if (ifMatch && ifMatch !== (opts.etag ?? "e1")) throw new StorageError("ALREADY_EXISTS", "precondition failed (412)");
    if (range && range.start >= data.length) throw new StorageError("INVALID_ARGUMENT", "416");
    const start = range?.start ?? 0;
    const end = Math.min(range?.end ?? data.length - 1, data.length - 1);
    const bytes = data.subarray(start, end + 1);
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    const breaks = broken.delete(start);
    const body = Readable.from((async function* () {
      try {
        await tick();
        const step = opts.chunk ?? 7;
        for (let o = 0; o < bytes.length; o += step) {
          if (breaks && o > 0) throw new Error("ECONNRESET (test)");
          yield bytes.subarray(o, o + step);
        }
      } finally {
        inFlight--;
      }
    })(), { objectMode: false });
    return { info: { key: "k", size: data.length, etag: "e1", metadata: {} }, body };
  };
  return { read, calls, maxInFlight: () => maxInFlight };
}

const readAll = async (body: Readable) => {
  const out: Buffer[] = [];
  for await (const c of body as AsyncIterable<Buffer>) out.push(c);
  return Buffer.concat(out);
};
const bytes = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31) % 251));

test("getInRanges reads the span as conditional ranges of chunkSize, at most `concurrency` at once, delivered in order", async () => {
  const data = bytes(1000);
  const obj = memoryObject(data);
  const got = await getInRanges(obj.read, undefined, { parallel: { concurrency: 3, chunkSize: 100 } });
  assert.equal(got.info.size, 1000);
  assert.equal(obj.calls.length, 1, "only the first range is asked for before the stream is read");
  assert.ok((await readAll(got.body)).equals(data));
  assert.deepEqual(obj.calls.map((c) => [c.start, c.end]), Array.from({ length: 10 }, (_, i) => [i * 100, i * 100 + 99]));
  assert.deepEqual(obj.calls.map((c) => c.ifMatch), [undefined, ...Array.from({ length: 9 }, () => "e1")]);
  assert.ok(obj.maxInFlight() <= 3, `at most 3 reads at once (saw ${obj.maxInFlight()})`);
  assert.ok(obj.maxInFlight() >= 2, "reads overlap");
});

test("getInRanges honours a range, and a span of one chunk is the first read, streamed as it comes", async () => {
  const data = bytes(1000);
  const obj = memoryObject(data);
  const mid = await getInRanges(obj.read, { start: 250, end: 749 }, { parallel: { concurrency: 2, chunkSize: 128 } });
  assert.ok((await readAll(mid.body)).equals(data.subarray(250, 750)));
  assert.deepEqual(obj.calls.map((c) => [c.start, c.end]), [[250, 377], [378, 505], [506, 633], [634, 749]]);
  const one = memoryObject(data);
  const whole = await getInRanges(one.read, undefined, { parallel: { concurrency: 4, chunkSize: 4096 } });
  assert.ok((await readAll(whole.body)).equals(data));
  assert.equal(one.calls.length, 1);
});

test("getInRanges reads an empty object with one plain read after the ranged read is refused", async () => {
  const obj = memoryObject(Buffer.alloc(0));
  const got = await getInRanges(obj.read, undefined, { parallel: { concurrency: 2, chunkSize: 10 } });
  assert.equal((await readAll(got.body)).length, 0);
  assert.deepEqual(obj.calls.map((c) => c.start), [0, -1]);
});

test("getInRanges reads the rest of a range again when its body breaks, and the bytes stay exact", async () => {
  const data = bytes(600);
  const obj = memoryObject(data, { breakOnce: [0, 300] }); // each breaks after its first 7 bytes
  const got = await getInRanges(obj.read, undefined, { parallel: { concurrency: 2, chunkSize: 100 } });
  assert.ok((await readAll(got.body)).equals(data));
  assert.deepEqual(obj.calls.filter((c) => c.start >= 300 && c.start < 400).map((c) => [c.start, c.end, c.ifMatch]), [[300, 399, "e1"], [307, 399, "e1"]]);
  assert.deepEqual(obj.calls.filter((c) => c.start >= 0 && c.start < 100).map((c) => [c.start, c.end, c.ifMatch]), [[0, 99, undefined], [7, 99, "e1"]]);
});

test("getInRanges fails the stream with TRANSIENT (not retried) when the object changed, and with ABORTED on abort", async () => {
  const changed = memoryObject(bytes(500), { etag: "e2" }); // every conditional read meets another ETag
  const got = await getInRanges(changed.read, undefined, { parallel: { concurrency: 2, chunkSize: 100 } });
  await assert.rejects(readAll(got.body), (e) => isStorageError(e, "TRANSIENT") && /changed/.test(e.message));
  assert.equal(changed.calls.filter((c) => c.start >= 100 && c.start < 200).length, 1, "a changed object is not read again");
  const ac = new AbortController();
  const obj = memoryObject(bytes(500));
  const aborted = await getInRanges(obj.read, undefined, { parallel: { concurrency: 2, chunkSize: 100 }, signal: ac.signal });
  ac.abort();
  await assert.rejects(readAll(aborted.body), (e) => isStorageError(e, "ABORTED"));
});
