import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { test } from "node:test";
import { DigestTap, flag, HeadCapture, peekOf, SpaceToTab, ToPosixLines } from "../src/get/transforms.ts";
import type { Transform } from "node:stream";

/** Runs `chunks` (split exactly as given) through `stages` and returns the output. */
async function run(chunks: Array<string | Buffer>, ...stages: Transform[]): Promise<Buffer> {
  const out: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      out.push(chunk);
      cb();
    },
  });
  await pipeline([Readable.from(chunks.map((c) => (typeof c === "string" ? Buffer.from(c, "latin1") : c))), ...stages, sink]);
  return Buffer.concat(out);
}

test("to_posix_lines turns CRLF and lone CR into LF and ends a non-empty file with LF", async () => {
  assert.equal((await run(["a\r\nb\rc\n", "d"], new ToPosixLines())).toString(), "a\nb\nc\nd\n");
  assert.equal((await run(["x\n"], new ToPosixLines())).toString(), "x\n");
  assert.equal((await run([], new ToPosixLines())).toString(), "");
  assert.equal((await run(["\r\r\n"], new ToPosixLines())).toString(), "\n\n");
});

test("to_posix_lines joins a CRLF split across chunks into one LF", async () => {
  assert.equal((await run(["a\r", "\nb\r", "", "\n"], new ToPosixLines())).toString(), "a\nb\n");
  assert.equal((await run(["a\r", "b"], new ToPosixLines())).toString(), "a\nb\n");
});

test("to_posix_lines leaves multi-byte UTF-8 intact", async () => {
  const text = "é\r\n漢字\r\n";
  const bytes = Buffer.from(text, "utf8");
  const chunks = [bytes.subarray(0, 1), bytes.subarray(1, 5), bytes.subarray(5)];
  assert.equal((await run(chunks, new ToPosixLines())).toString("utf8"), "é\n漢字\n");
});

test("space_to_tab collapses every run of spaces and tabs into one tab, also across chunks", async () => {
  assert.equal((await run(["chr1  10 \t 20\nx y\n"], new SpaceToTab())).toString(), "chr1\t10\t20\nx\ty\n");
  assert.equal((await run(["a  ", "  b", " ", "c"], new SpaceToTab())).toString(), "a\tb\tc");
  assert.equal((await run(["no-spaces\n"], new SpaceToTab())).toString(), "no-spaces\n");
});

test("both transforms compose as Galaxy applies them", async () => {
  const out = await run(["a b\r", "\nc  d"], new ToPosixLines(), new SpaceToTab());
  assert.equal(out.toString(), "a\tb\nc\td\n");
});

test("DigestTap passes bytes unchanged and hashes them", async () => {
  const data = Buffer.from("hello, get from cloud");
  const seen: number[] = [];
  const tap = new DigestTap((n) => seen.push(n));
  const out = await run([data.subarray(0, 5), data.subarray(5)], tap);
  assert.deepEqual(out, data);
  assert.equal(tap.bytes, data.length);
  assert.deepEqual(seen, [5, data.length]);
  assert.deepEqual(tap.digests(), { sha256: createHash("sha256").update(data).digest("hex"), md5: createHash("md5").update(data).digest("hex") });
});

test("HeadCapture keeps only the first bytes and passes everything through", async () => {
  const head = new HeadCapture(4);
  const out = await run(["ab", "cdef", "g"], head);
  assert.equal(out.toString(), "abcdefg");
  assert.equal(head.head().toString(), "abcd");
});

test("flags accept booleans and Galaxy's strings", () => {
  assert.equal(flag(true), true);
  assert.equal(flag("true"), true);
  assert.equal(flag(false), false);
  assert.equal(flag("false"), false);
  assert.equal(flag(null), false);
  assert.equal(flag(undefined), false);
});

test("peek: the first lines of text, none for binary", () => {
  assert.equal(peekOf(Buffer.from("1\n2\n3\n4\n5\n6\n7\n")), "1\n2\n3\n4\n5");
  assert.equal(peekOf(Buffer.from([0x1f, 0x8b, 0x00, 0x01])), null);
  assert.equal(peekOf(Buffer.alloc(0)), null);
});

test("DigestTap without hashing only counts, and refuses to make up digests", async () => {
  const tap = new DigestTap(undefined, { hash: false });
  assert.equal((await run(["abc", "de"], tap)).toString(), "abcde");
  assert.equal(tap.bytes, 5);
  assert.throws(() => tap.digests());
});
