import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { test } from "node:test";
import { bodyStream, forEachBounded, isStorageError, readParts, type BodyPart } from "../src/index.ts";
import { readerOf } from "../src/contract-helpers.ts";

const collect = async (body: Readable, size: number, partSize: number): Promise<BodyPart[]> => {
  const out: BodyPart[] = [];
  for await (const p of readParts(body, size, partSize)) out.push({ ...p, data: Buffer.from(p.data) });
  return out;
};

test("readParts cuts any chunking into exact parts and a shorter last one", async () => {
  const data = Buffer.from(Array.from({ length: 25 }, (_, i) => i));
  const chunks = [data.subarray(0, 3), data.subarray(3, 4), data.subarray(4, 17), data.subarray(17)];
  const parts = await collect(Readable.from(chunks), 25, 10);
  assert.deepEqual(parts.map((p) => [p.number, p.offset, p.data.length]), [[1, 0, 10], [2, 10, 10], [3, 20, 5]]);
  assert.ok(Buffer.concat(parts.map((p) => p.data)).equals(data));
});

test("readParts yields one empty part for an empty body, and exact multiples have no empty tail", async () => {
  assert.deepEqual((await collect(Readable.from([]), 0, 10)).map((p) => p.data.length), [0]);
  assert.deepEqual((await collect(Readable.from([Buffer.alloc(20)]), 20, 10)).map((p) => p.data.length), [10, 10]);
});

test("readParts passes on a part that arrives whole in one chunk without copying it", async () => {
  const data = Buffer.from(Array.from({ length: 30 }, (_, i) => i));
  const parts: BodyPart[] = [];
  for await (const p of readParts(Readable.from([data]), 30, 10)) parts.push(p);
  assert.deepEqual(parts.map((p) => p.data.buffer === data.buffer), [true, true, true]);
  assert.ok(Buffer.concat(parts.map((p) => p.data)).equals(data));
});

test("readParts cuts a body given whole into parts without a copy, and checks its size", async () => {
  const data = Buffer.from(Array.from({ length: 25 }, (_, i) => i));
  const parts: BodyPart[] = [];
  for await (const p of readParts(data, 25, 10)) parts.push(p);
  assert.deepEqual(parts.map((p) => [p.number, p.offset, p.data.length, p.data.buffer === data.buffer]), [[1, 0, 10, true], [2, 10, 10, true], [3, 20, 5, true]]);
  assert.ok(Buffer.concat(parts.map((p) => p.data)).equals(data));
  const whole = async (body: Buffer, size: number) => {
    const out: number[] = [];
    for await (const p of readParts(body, size, 10)) out.push(p.data.length);
    return out;
  };
  assert.deepEqual(await whole(Buffer.alloc(0), 0), [0], "an empty body is one empty part");
  assert.deepEqual(await whole(Buffer.alloc(20), 20), [10, 10], "no empty tail");
  await assert.rejects(whole(Buffer.alloc(26), 25), (e) => isStorageError(e, "INTEGRITY"));
  await assert.rejects(whole(Buffer.alloc(24), 25), (e) => isStorageError(e, "INTEGRITY"));
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(async () => {
    for await (const _ of readParts(data, 25, 10, { signal: ac.signal })) void _;
  }, (e) => isStorageError(e, "ABORTED"));
});

test("readParts ends a read waiting on a stalled body with ABORTED when the signal fires", async () => {
  const stalled = new Readable({ read() {} });
  stalled.push(Buffer.alloc(5));
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 50);
  await assert.rejects(async () => {
    for await (const _ of readParts(stalled, 10, 4, { signal: ac.signal })) void _;
  }, (e) => isStorageError(e, "ABORTED"));
  assert.ok(stalled.destroyed, "the body is released");
});

test("readParts refuses a body longer or shorter than declared (INTEGRITY) and wraps stream errors (SOURCE)", async () => {
  await assert.rejects(collect(Readable.from([Buffer.alloc(11)]), 10, 4), (e) => isStorageError(e, "INTEGRITY"));
  await assert.rejects(collect(Readable.from([Buffer.alloc(9)]), 10, 4), (e) => isStorageError(e, "INTEGRITY"));
  const failing = new Readable({ read() { this.destroy(new Error("disk gone")); } });
  await assert.rejects(collect(failing, 10, 4), (e) => isStorageError(e, "SOURCE"));
});

test("readParts reads no further than the part being filled (memory stays bounded)", async () => {
  let produced = 0;
  const body = Readable.from((function* () { for (let i = 0; i < 100; i++) { produced += 1; yield Buffer.alloc(1024); } })(), { highWaterMark: 1 });
  const it = readParts(body, 100 * 1024, 10 * 1024)[Symbol.asyncIterator]();
  await it.next();
  assert.ok(produced <= 14, `read ${produced} KiB for the first 10 KiB part`);
  await it.return?.(undefined);
});

test("readParts reads a BodyReader straight into its part buffers (reused ones when given), with short reads, and closes it", async () => {
  const data = Buffer.from(Array.from({ length: 25 }, (_, i) => i));
  const reader = readerOf(data, { maxRead: 3 });
  const spare = Buffer.alloc(10);
  const reuse = [spare];
  const parts: BodyPart[] = [];
  for await (const p of readParts(reader, 25, 10, { reuse })) parts.push({ ...p, data: Buffer.from(p.data) });
  assert.deepEqual(parts.map((p) => [p.number, p.offset, p.data.length]), [[1, 0, 10], [2, 10, 10], [3, 20, 5]]);
  assert.ok(Buffer.concat(parts.map((p) => p.data)).equals(data));
  assert.ok(spare.equals(data.subarray(0, 10)), "the first part was read into the reused buffer");
  assert.equal(reader.closes(), 1);
  const empty = readerOf(Buffer.alloc(0));
  const none: BodyPart[] = [];
  for await (const p of readParts(empty, 0, 10)) none.push(p);
  assert.deepEqual(none.map((p) => p.data.length), [0], "an empty body is one empty part");
});

test("readParts refuses a BodyReader longer or shorter than declared (INTEGRITY) and closes it, also when the consumer stops early", async () => {
  const data = Buffer.alloc(25, 1);
  for (const [reader, size] of [[readerOf(data), 24], [readerOf(data), 26]] as const) {
    await assert.rejects(async () => {
      for await (const _ of readParts(reader, size, 10)) void _;
    }, (err: unknown) => isStorageError(err, "INTEGRITY"));
    assert.equal(reader.closes(), 1, `declared ${size}: closed`);
  }
  const early = readerOf(data);
  for await (const p of readParts(early, 25, 10)) if (p.number === 1) break;
  assert.equal(early.closes(), 1, "closed when the consumer stops after the first part");
});

test("bodyStream turns a BodyReader into a stream of all its bytes and closes it", async () => {
  const data = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));
  const reader = readerOf(data, { maxRead: 300 });
  const chunks: Buffer[] = [];
  for await (const c of bodyStream(reader)) chunks.push(c as Buffer);
  assert.ok(Buffer.concat(chunks).equals(data));
  assert.equal(reader.closes(), 1);
});

test("forEachBounded never runs more than the limit and rethrows the first failure after the others settle", async () => {
  let running = 0;
  let peak = 0;
  const seen: number[] = [];
  await forEachBounded(Readable.from([1, 2, 3, 4, 5, 6, 7]), 3, async (n: number) => {
    running += 1;
    peak = Math.max(peak, running);
    await sleep(5 * (n % 3));
    seen.push(n);
    running -= 1;
  });
  assert.equal(peak, 3);
  assert.deepEqual(seen.sort(), [1, 2, 3, 4, 5, 6, 7]);
  let settled = 0;
  await assert.rejects(
    forEachBounded(Readable.from([1, 2, 3, 4, 5]), 2, async (n: number) => {
      if (n === 2) throw new Error("part 2 failed");
      await sleep(10);
      settled += 1;
    }),
    /part 2 failed/,
  );
  assert.equal(settled, 1, "stopped pulling after the failure, waited for the running task");
});

test("forEachBounded stops with ABORTED when the signal fires", async () => {
  const ac = new AbortController();
  await assert.rejects(
    forEachBounded(Readable.from([1, 2, 3]), 1, async () => ac.abort(), { signal: ac.signal }),
    (e) => isStorageError(e, "ABORTED"),
  );
});
