import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { contentDisposition, parseRange, safeFileName } from "../src/uploads/range.ts";

describe("parseRange", () => {
  test("closed, open and suffix ranges resolve against the size", () => {
    assert.deepEqual(parseRange("bytes=0-0", 10), { start: 0, end: 0 });
    assert.deepEqual(parseRange("bytes=2-5", 10), { start: 2, end: 5 });
    assert.deepEqual(parseRange("bytes=4-", 10), { start: 4, end: 9 });
    assert.deepEqual(parseRange("bytes=-3", 10), { start: 7, end: 9 });
    assert.deepEqual(parseRange("bytes=-30", 10), { start: 0, end: 9 });
    assert.deepEqual(parseRange("bytes=8-100", 10), { start: 8, end: 9 });
  });
  test("a start at or past the end, or any range of an empty file, is unsatisfiable", () => {
    assert.equal(parseRange("bytes=10-", 10), "unsatisfiable");
    assert.equal(parseRange("bytes=0-0", 0), "unsatisfiable");
    assert.equal(parseRange("bytes=-0", 10), "unsatisfiable");
  });
  test("absent, malformed, multi-range or other-unit headers serve the whole content", () => {
    for (const h of [undefined, "", "bytes=", "bytes=-", "bytes=5-2", "bytes=0-1,3-4", "items=0-1", "bytes=a-b"]) assert.equal(parseRange(h, 10), null, String(h));
  });
});

describe("contentDisposition", () => {
  test("keeps plain names, replaces anything else in the fallback and encodes the exact name", () => {
    assert.equal(contentDisposition("inline", "peaks.bed"), `inline; filename="peaks.bed"; filename*=UTF-8''peaks.bed`);
    const v = contentDisposition("attachment", "a\"b;c\r\nd\u00e9.txt");
    // Control characters (CR LF) are dropped from the name itself (issue 19), not only from the fallback.
    assert.match(v, /^attachment; filename="a_b_cd_.txt"; filename\*=UTF-8''a%22b%3Bcd%C3%A9.txt$/);
    assert.doesNotMatch(v, /[\r\n]/);
  });
  test("a name of only dots or spaces falls back to 'dataset'", () => {
    assert.match(contentDisposition("attachment", ".."), /filename="dataset"/);
  });
});

test("download names lose control and bidirectional characters, path separators and leading dots (issue 19)", () => {
  assert.equal(safeFileName("report\u202Efdp.exe"), "reportfdp.exe");
  assert.equal(safeFileName("../../etc/passwd"), "_.._etc_passwd");
  assert.equal(safeFileName("a\u0000b\nc"), "abc");
  assert.equal(safeFileName("..."), "dataset");
  const header = contentDisposition("attachment", "x\u202Egpj.exe");
  assert.ok(!header.includes("%E2%80%AE"), header);
});
