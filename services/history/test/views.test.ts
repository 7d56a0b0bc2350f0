import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { isSkyferryError } from "@skyferry/errors";
import { historyListQuery } from "../src/histories/list-query.ts";
import { datasetName, HeadTap, humanSize, peekOf } from "../src/uploads/head-tap.ts";
import { pick, selectKeys } from "../src/views.ts";

const views = { summary: ["id", "name"], detailed: ["id", "name", "size", "state"] } as const;
const actor = { user_id: "0123456789abcdef" };
const fieldOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return isSkyferryError(err) ? `${err.status}:${err.field}` : "other";
  }
  return "no error";
};

describe("selectKeys", () => {
  test("view alone, keys alone, and both combined, as Galaxy does", () => {
    assert.deepEqual(selectKeys(views, {}, "summary"), ["id", "name"]);
    assert.deepEqual(selectKeys(views, { view: "detailed" }, "summary"), ["id", "name", "size", "state"]);
    assert.deepEqual(selectKeys(views, { keys: "state, id" }, "summary"), ["state", "id"]);
    assert.deepEqual(selectKeys(views, { view: "summary", keys: "size" }, "detailed"), ["id", "name", "size"]);
  });
  test("an unknown key is a 400 naming `keys`", () => {
    assert.equal(fieldOf(() => selectKeys(views, { keys: "id,password" }, "summary")), "400:keys");
  });
  test("pick keeps the requested keys only", () => {
    assert.deepEqual(pick({ id: "a", name: "b", size: 1 }, ["size", "id"]), { size: 1, id: "a" });
  });
});

describe("historyListQuery", () => {
  test("not deleted by default; q/qv pairs become filters; search is a case-insensitive contains", () => {
    assert.deepEqual(historyListQuery({ actor }).filter, { deleted: false });
    const q = historyListQuery({ actor, q: ["name-contains", "deleted"], qv: ["a.b", "true"] });
    assert.deepEqual(q.filter, { $and: [{ name: { $regex: "a\\.b", $options: "i" } }, { deleted: true }] });
    assert.deepEqual(historyListQuery({ actor, search: "x", deleted: true }).filter, { $and: [{ name: { $regex: "x", $options: "i" } }, { deleted: true }] });
    assert.deepEqual(historyListQuery({ actor, order: "name-asc" }).sort, { name: 1, _id: 1 });
  });
  test("unknown filters, unpaired q/qv and bad values are 400 naming the field", () => {
    assert.equal(fieldOf(() => historyListQuery({ actor, q: ["owner"], qv: ["x"] })), "400:q");
    assert.equal(fieldOf(() => historyListQuery({ actor, q: ["name"], qv: [] })), "400:qv");
    assert.equal(fieldOf(() => historyListQuery({ actor, q: ["deleted"], qv: ["maybe"] })), "400:qv");
    assert.equal(fieldOf(() => historyListQuery({ actor, q: ["update_time-gt"], qv: ["yesterday"] })), "400:qv");
  });
});

describe("upload helpers", () => {
  test("HeadTap keeps the first bytes and passes everything through", async () => {
    const tap = new HeadTap(5);
    const out: Buffer[] = [];
    tap.on("data", (c: Buffer) => out.push(c));
    tap.write(Buffer.from("abc"));
    tap.write(Buffer.from("defgh"));
    tap.end();
    await new Promise((r) => tap.on("end", r));
    assert.equal(tap.head().toString(), "abcde");
    assert.equal(Buffer.concat(out).toString(), "abcdefgh");
  });
  test("peek: first five lines of text; none for binary", () => {
    assert.equal(peekOf(Buffer.from("1\n2\n3\n4\n5\n6\n")), "1\n2\n3\n4\n5");
    assert.equal(peekOf(Buffer.from([0x1f, 0x8b, 0x00, 0x01])), null);
    assert.equal(peekOf(Buffer.alloc(0)), null);
  });
  test("dataset names drop paths and control characters", () => {
    assert.equal(datasetName("../../etc/passwd", "x"), "passwd");
    assert.equal(datasetName("C:\\data\\reads.fq", "x"), "reads.fq");
    assert.equal(datasetName("a\u0000b\nc", "x"), "abc");
    assert.equal(datasetName("", "fallback"), "fallback");
    assert.equal(datasetName(undefined, "fallback"), "fallback");
  });
  test("humanSize", () => {
    assert.equal(humanSize(0), "0 bytes");
    assert.equal(humanSize(1536), "1.5 KB");
    assert.equal(humanSize(10 * 1024 * 1024), "10.0 MB");
  });
});
