import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  crumbs, DEFAULT_OPTIONS, describeSelection, EMPTY_SELECTION, getBody, nameIn, optionProblem, selectedBytes, selectedCount, toggleFolder, toggleObject, toggleObjects,
} from "../src/pages/get/selection.ts";

// The get page's pure logic: what a selection is, how it reads, and the request it becomes.

const target = { historyId: "0123456789abcdef", authzId: "fedcba9876543210", bucket: "runs" };
const bytes = (n: number) => `${n} B`;

describe("get from cloud: the selection", () => {
  test("ticking an object twice removes it; sizes add up across pages", () => {
    let s = toggleObject(EMPTY_SELECTION, "a/1.txt", 10);
    s = toggleObject(s, "b/2.txt", 5);
    assert.equal(selectedCount(s), 2);
    assert.equal(selectedBytes(s), 15);
    s = toggleObject(s, "a/1.txt", 10);
    assert.deepEqual([...s.objects.keys()], ["b/2.txt"]);
    assert.equal(EMPTY_SELECTION.objects.size, 0, "the empty selection is never changed");
  });

  test("select all on a page adds the page's objects, and removes them when all were selected", () => {
    const page = [{ key: "x", size: 1 }, { key: "y", size: 2 }];
    const other = toggleObject(EMPTY_SELECTION, "z", 3);
    const all = toggleObjects(toggleObject(other, "x", 1), page);
    assert.deepEqual([...all.objects.keys()].sort(), ["x", "y", "z"]);
    const none = toggleObjects(all, page);
    assert.deepEqual([...none.objects.keys()], ["z"], "objects of other pages stay");
    assert.deepEqual(toggleObjects(EMPTY_SELECTION, []), EMPTY_SELECTION);
  });

  test("one folder at a time: another folder replaces it, the same one clears it", () => {
    let s = toggleFolder(EMPTY_SELECTION, "a/");
    s = toggleFolder(s, "b/");
    assert.equal(s.folder, "b/");
    assert.equal(selectedCount(s), 1);
    assert.equal(toggleFolder(s, "b/").folder, undefined);
  });

  test("is described in words", () => {
    assert.equal(describeSelection(EMPTY_SELECTION, bytes), "Nothing selected yet: tick objects above, or a whole folder.");
    assert.equal(describeSelection(toggleObject(EMPTY_SELECTION, "k", 7), bytes), "1 object (7 B) selected.");
    const both = toggleFolder(toggleObject(toggleObject(EMPTY_SELECTION, "k", 7), "l", 1), "reads/");
    assert.equal(describeSelection(both, bytes), "2 objects (8 B) and every object below reads/ selected.");
    assert.equal(describeSelection(toggleFolder(EMPTY_SELECTION, "reads/"), bytes), "Every object below reads/ selected.");
  });
});

describe("get from cloud: folders", () => {
  test("a prefix becomes breadcrumbs, one per folder", () => {
    assert.deepEqual(crumbs(""), []);
    assert.deepEqual(crumbs("a/"), [{ label: "a", prefix: "a/" }]);
    assert.deepEqual(crumbs("a/b c/"), [{ label: "a", prefix: "a/" }, { label: "b c", prefix: "a/b c/" }]);
    assert.deepEqual(crumbs("a//"), [{ label: "a", prefix: "a/" }, { label: "", prefix: "a//" }], "an empty folder name is a folder too");
  });

  test("names are shown relative to the open folder", () => {
    assert.equal(nameIn("a/", "a/b/c.txt"), "b/c.txt");
    assert.equal(nameIn("", "a/b"), "a/b");
    assert.equal(nameIn("x/", "a/b"), "a/b");
  });
});

describe("get from cloud: the request", () => {
  test("objects in key order, with Galaxy's input_args", () => {
    const s = toggleObject(toggleObject(EMPTY_SELECTION, "b.txt", 1), "a.txt", 1);
    assert.deepEqual(getBody(target, s, { fileType: " bed ", dbkey: "hg38", spaceToTab: true, toPosixLines: false }), {
      history_id: target.historyId,
      authz_id: target.authzId,
      bucket: "runs",
      objects: ["a.txt", "b.txt"],
      input_args: { file_type: "bed", dbkey: "hg38", space_to_tab: true, to_posix_lines: false },
    });
  });

  test("a folder alone is a prefix without objects; with objects, both", () => {
    const folder = getBody(target, toggleFolder(EMPTY_SELECTION, "reads/"), DEFAULT_OPTIONS);
    assert.equal(folder.prefix, "reads/");
    assert.equal("objects" in folder, false);
    assert.deepEqual(folder.input_args, { file_type: "auto", dbkey: "?", space_to_tab: false, to_posix_lines: false });
    const both = getBody(target, toggleObject(toggleFolder(EMPTY_SELECTION, "reads/"), "top.txt", 1), DEFAULT_OPTIONS);
    assert.deepEqual([both.objects, both.prefix], [["top.txt"], "reads/"]);
  });

  test("blank options fall back to sniffing and no genome build; bad ones are named", () => {
    assert.deepEqual(getBody(target, EMPTY_SELECTION, { ...DEFAULT_OPTIONS, fileType: " ", dbkey: "" }).input_args, { file_type: "auto", dbkey: "?", space_to_tab: false, to_posix_lines: false });
    assert.equal(optionProblem(DEFAULT_OPTIONS), undefined);
    assert.match(optionProblem({ ...DEFAULT_OPTIONS, fileType: "fast q" }) ?? "", /datatype/);
    assert.match(optionProblem({ ...DEFAULT_OPTIONS, dbkey: "x".repeat(65) }) ?? "", /genome build/);
  });
});
