import assert from "node:assert/strict";
import { test } from "node:test";
import { bucketNameProblem } from "../src/send/bucket-name.ts";
import { checkKeyTemplate, checkPrefix, galaxyLabel, keyProblem, objectKey, suffixedKey } from "../src/send/object-key.ts";

const fields = { history_name: "My RNA seq", history_id: "03501d7626bd192f", hid: 7, name: "rep 1.bed", dataset_id: "0123456789abcdef", ext: "bed" };

test("the object key is the dataset name with spaces turned into underscores, nothing else", () => {
  assert.equal(galaxyLabel("rep 1 final/part.bed"), "rep_1_final/part.bed");
  assert.equal(objectKey(fields), "rep_1.bed");
});

test("prefix and key_template build keys from history and dataset fields", () => {
  assert.equal(objectKey(fields, { keyTemplate: "{history_name}/{hid}_{name}" }), "My_RNA_seq/7_rep_1.bed");
  assert.equal(objectKey(fields, { prefix: "runs/2026/", keyTemplate: "{dataset_id}.{ext}" }), "runs/2026/0123456789abcdef.bed");
  assert.equal(objectKey(fields, { prefix: "x-" }), "x-rep_1.bed");
});

test("an unknown placeholder in key_template is refused naming the field", () => {
  assert.throws(() => checkKeyTemplate("{nope}/{name}"), (err: Error & { field?: string; status?: number }) => err.field === "key_template" && err.status === 400);
  assert.doesNotThrow(() => checkKeyTemplate("{history_name}/{hid}_{name}"));
});

test("keys that no provider accepts are reported", () => {
  assert.equal(keyProblem("ok/key.txt"), null);
  assert.match(keyProblem("") ?? "", /empty/);
  assert.match(keyProblem("a".repeat(1025)) ?? "", /1024/);
  assert.match(keyProblem("bad\u0001") ?? "", /control/);
});

test("the rename suffix is Galaxy's _yymmdd_HHMMSS in UTC, unique within one second by a counter", () => {
  const at = new Date("2018-10-28T14:25:30.999Z");
  assert.equal(suffixedKey("rep1.bed", at, 1), "rep1.bed_181028_142530");
  const keys = new Set(Array.from({ length: 50 }, (_, i) => suffixedKey("rep1.bed", at, i + 1)));
  assert.equal(keys.size, 50);
  assert.equal(suffixedKey("rep1.bed", at, 2), "rep1.bed_181028_142530_2");
});

test("bucket names are checked by the provider's rules", () => {
  for (const ok of ["vahid-objectstore", "abc", "a.b-c1", "x".repeat(63)]) assert.equal(bucketNameProblem("s3", ok), null, ok);
  for (const bad of ["ab", "Upper", "under_score", "-lead", "trail-", "a..b", "192.168.1.1", "xn--abc", "x".repeat(64), "a.-b"]) {
    assert.notEqual(bucketNameProblem("aws", bad), null, bad);
  }
  assert.equal(bucketNameProblem("azure", "my-container1"), null);
  for (const bad of ["my.container", "a--b", "Up", "ab"]) assert.notEqual(bucketNameProblem("azure", bad), null, bad);
});

test("prefixes and key templates that could escape are refused with 400 naming the field (issue 19)", () => {
  const field = (fn: () => void) => {
    try {
      fn();
    } catch (err) {
      return [(err as { status: number }).status, (err as { field: string }).field];
    }
    return null;
  };
  for (const prefix of ["../other-container/", "a/../../b/", "./x/", "a/./b/", "..\\x\\", "/etc/", "a\u202Eb/", "a\u0000b/", "a\nb/"]) {
    assert.deepEqual(field(() => checkPrefix(prefix)), [400, "prefix"], JSON.stringify(prefix));
  }
  for (const ok of ["", "runs/2026/", "x-", "a.b/c..d/", "...x/"]) assert.equal(field(() => checkPrefix(ok)), null, JSON.stringify(ok));
  for (const t of ["../{name}", "{history_name}/../{name}", "/{name}", "{name}\u202E"]) {
    assert.deepEqual(field(() => checkKeyTemplate(t)), [400, "key_template"], JSON.stringify(t));
  }
  assert.equal(field(() => checkKeyTemplate("{history_name}/{hid}_{name}")), null);
});

test("a dataset name that would make an escaping or disguised key is a failed label, not a key", () => {
  for (const name of ["../../../../etc/passwd", "..", "a/./b", "report\u202Efdp.exe", "/abs"]) {
    assert.notEqual(keyProblem(objectKey({ ...fields, name })), null, JSON.stringify(name));
  }
  assert.equal(keyProblem(objectKey({ ...fields, name: "rep 1.bed" })), null);
});
