import assert from "node:assert/strict";
import { test } from "node:test";
import { Double } from "mongodb";
import { isWriteConflict, retryWriteConflicts, withRevision } from "../src/write-conflicts.ts";

const conflict = new Error("[collection.go:218] ERROR: could not serialize access due to concurrent update (SQLSTATE 40001)");

test("write conflicts are told from other errors", () => {
  assert.equal(isWriteConflict(conflict), true);
  assert.equal(isWriteConflict(new Error("ERROR: deadlock detected (SQLSTATE 40P01)")), true);
  assert.equal(isWriteConflict(new Error("database is locked (5) (SQLITE_BUSY)")), true);
  assert.equal(isWriteConflict(new Error("E11000 duplicate key error")), false);
  assert.equal(isWriteConflict("SQLSTATE 40001"), false, "only errors");
});

test("a conflicting write is tried again until it goes through; other errors and the last try are thrown", async () => {
  const sleep = async () => undefined;
  let calls = 0;
  assert.equal(await retryWriteConflicts(async () => (++calls < 3 ? Promise.reject(conflict) : "done"), { sleep }), "done");
  assert.equal(calls, 3);
  calls = 0;
  await assert.rejects(retryWriteConflicts(async () => { calls++; throw new Error("E11000"); }, { sleep }), /E11000/);
  assert.equal(calls, 1, "not a conflict: no second try");
  calls = 0;
  await assert.rejects(retryWriteConflicts(async () => { calls++; throw conflict; }, { sleep, attempts: 4 }), /40001/);
  assert.equal(calls, 4);
});

test("every operator update adds its revision step (and records it); a pipeline or a replacement is left alone", () => {
  // Doubles, shown as { double: n } here.
  const plain = (v: unknown): unknown =>
    v instanceof Double ? { double: v.value } : v && typeof v === "object" ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)])) : v;
  assert.deepEqual(plain(withRevision({ $set: { a: 1 } }, 7)), { $set: { a: 1, _rev_step: { double: 7 } }, $inc: { _rev: { double: 7 } } });
  assert.deepEqual(plain(withRevision({ $set: { a: 1 }, $inc: { n: 2 } }, 3)), { $set: { a: 1, _rev_step: { double: 3 } }, $inc: { n: 2, _rev: { double: 3 } } });
  assert.deepEqual(withRevision([{ $set: { a: 1 } }]), [{ $set: { a: 1 } }]);
  assert.deepEqual(withRevision({ a: 1 }), { a: 1 });
  const steps = new Set(Array.from({ length: 50 }, () => ((withRevision({ $set: {} }) as { $inc: { _rev: Double } }).$inc._rev.value)));
  assert.ok(steps.size > 45, "random steps: two racing writers do not pick the same one");
});
