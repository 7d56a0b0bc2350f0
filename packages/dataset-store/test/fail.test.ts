import assert from "node:assert/strict";
import { test } from "node:test";
import { isDatasetStoreError } from "../src/errors.ts";
import { writeFailure } from "../src/fail.ts";

const fsError = (code: string) => Object.assign(new Error(`${code}: something, write`), { code, syscall: "write" });

test("a full file system is DATASET_STORE_FULL (507), naming ENOSPC or EDQUOT; other file system errors stay DATASET_STORE_IO", () => {
  const full = writeFailure(fsError("ENOSPC"), undefined);
  assert.ok(isDatasetStoreError(full, "DATASET_STORE_FULL"), String(full));
  assert.match(full.message, /ENOSPC/);
  assert.equal((full as { status?: number }).status, 507);
  assert.equal((full as { retryable?: boolean }).retryable, false);
  const quota = writeFailure(fsError("EDQUOT"), undefined);
  assert.ok(isDatasetStoreError(quota, "DATASET_STORE_FULL"));
  assert.match(quota.message, /EDQUOT/);
  assert.ok(isDatasetStoreError(writeFailure(fsError("EIO"), undefined), "DATASET_STORE_IO"));
});
