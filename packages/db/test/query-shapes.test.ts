import assert from "node:assert/strict";
import { test } from "node:test";
import type { IndexDescription } from "mongodb";
import { servedBy, shapeOf } from "../src/query-shapes.ts";

const jobs: IndexDescription[] = [
  { key: { user_id: 1, create_time: -1 }, name: "user_created" },
  { key: { user_id: 1, state: 1, create_time: -1 }, name: "user_state_created" },
  { key: { expires_at: 1 }, name: "expiry" },
];

test("a shape keeps the fields a query filters and sorts on, not their values", () => {
  assert.deepEqual(shapeOf("jobs", "find", { user_id: "u", state: { $in: ["a", "b"] }, n: { $gt: 3 }, x: { $ne: true } }, { create_time: -1, _id: 1 }), {
    collection: "jobs", op: "find", equality: ["state", "user_id"], other: ["n", "x"], sort: [["create_time", -1], ["_id", 1]],
  });
  assert.deepEqual(shapeOf("jobs", "find", { $and: [{ user_id: "u" }, { $or: [{ a: 1 }, { b: 2 }] }] }).equality, ["user_id"]);
  assert.deepEqual(shapeOf("jobs", "find", { $and: [{ user_id: "u" }, { $or: [{ a: 1 }] }] }).other, ["$or"]);
  assert.deepEqual(shapeOf("jobs", "find", { when: new Date(0) }).equality, ["when"], "a date value is an equality, not an operator document");
});

test("an index serves equality fields it leads with, then the sort in its order or all reversed", () => {
  const s = (filter: object, sort?: object) => servedBy(shapeOf("jobs", "find", filter, sort), jobs);
  assert.equal(s({ _id: "x", state: "queued" }), "_id");
  assert.equal(s({ user_id: "u" }, { create_time: -1 }), "user_created");
  assert.equal(s({ user_id: "u" }, { create_time: 1 }), "user_created", "reversed");
  assert.equal(s({ user_id: "u" }, { create_time: -1, _id: 1 }), "user_created", "an _id tie-break");
  assert.equal(s({ user_id: "u", state: "ok" }, { create_time: -1 }), "user_state_created");
  assert.equal(s({ expires_at: { $lt: new Date() } }), "expiry", "a range alone, on an index led by its field");
  assert.equal(s({ state: "ok" }), null, "not the index's leading field");
  assert.equal(s({ user_id: "u" }, { update_time: -1 }), null, "a sort the index does not have");
  assert.equal(s({}), null, "a scan");
  assert.equal(s({ state: "ok" }, { create_time: -1 }), null);
});
