import assert from "node:assert/strict";
import { test } from "node:test";
import { isStorageError, planParts } from "@skyferry/storage";
import { S3_DEFAULT_PART_SIZE, S3_LIMITS } from "../src/index.ts";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

test("small objects use the requested part size, raised to S3's 5 MiB minimum", () => {
  assert.deepEqual(planParts(0, S3_DEFAULT_PART_SIZE, S3_LIMITS), { partSize: 8 * MiB, partCount: 1 });
  assert.deepEqual(planParts(8 * MiB, S3_DEFAULT_PART_SIZE, S3_LIMITS), { partSize: 8 * MiB, partCount: 1 });
  assert.deepEqual(planParts(8 * MiB + 1, S3_DEFAULT_PART_SIZE, S3_LIMITS), { partSize: 8 * MiB, partCount: 2 });
  assert.deepEqual(planParts(100 * MiB, 1 * MiB, S3_LIMITS), { partSize: 5 * MiB, partCount: 20 });
});

test("the part size grows in whole MiB so 10,000 parts are never exceeded", () => {
  assert.deepEqual(planParts(10_000 * 8 * MiB, 8 * MiB, S3_LIMITS), { partSize: 8 * MiB, partCount: 10_000 });
  assert.deepEqual(planParts(10_000 * 8 * MiB + 1, 8 * MiB, S3_LIMITS), { partSize: 9 * MiB, partCount: 8_889 });
  for (const size of [100 * GiB, 1024 * GiB, 5 * 1024 * GiB - 1, 5 * 1024 * GiB]) {
    const { partSize, partCount } = planParts(size, 8 * MiB, S3_LIMITS);
    assert.ok(partCount <= 10_000, `${size}: ${partCount} parts`);
    assert.equal(partSize % MiB, 0);
    assert.ok(partSize <= 5 * GiB);
    assert.ok((partCount - 1) * partSize < size && partCount * partSize >= size, "the parts cover the object exactly");
  }
  assert.equal(planParts(5 * 1024 * GiB, 8 * MiB, S3_LIMITS).partSize, 525 * MiB);
});

test("sizes beyond S3's 5 TiB object limit, or negative ones, are INVALID_ARGUMENT", () => {
  for (const size of [5 * 1024 * GiB + 1, -1, 1.5]) {
    assert.throws(() => planParts(size, 8 * MiB, S3_LIMITS), (err) => isStorageError(err, "INVALID_ARGUMENT"));
  }
});
