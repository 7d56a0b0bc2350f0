import assert from "node:assert/strict";
import { test } from "node:test";
import { isMissingObject, s3Failure } from "../src/s3-errors.ts";

// The S3 backend's errors through the S3 adapter's one classification (domain logic: the shapes
// the AWS SDK and Node give errors; the backend itself runs on radosgw in s3-store.test.ts).
const sdk = (name: string, status?: number, extra: object = {}) => Object.assign(new Error(name), { name, ...(status ? { $metadata: { httpStatusCode: status } } : {}), ...extra });

test("missing: NoSuchKey, NoSuchBucket, NotFound, and a HEAD's bodiless 404", () => {
  for (const e of [sdk("NoSuchKey", 404), sdk("NoSuchBucket", 404), sdk("NotFound", 404), sdk("Unknown", 404)]) assert.equal(isMissingObject(e), true, e.name);
  for (const e of [sdk("AccessDenied", 403), sdk("SlowDown", 503), Object.assign(new Error("reset"), { code: "ECONNRESET" })]) assert.equal(isMissingObject(e), false, e.message);
});

test("throttling, 5xx, timeouts and resets are UNAVAILABLE (retryable); denials and bad requests are IO", () => {
  const transient = [sdk("SlowDown", 503), sdk("InternalError", 500), sdk("Unknown", 502), sdk("TimeoutError"), Object.assign(new Error("t"), { code: "ETIMEDOUT" }), Object.assign(new Error("r"), { code: "ECONNRESET" }), sdk("Whatever", undefined, { $retryable: {} })];
  for (const e of transient) {
    const out = s3Failure(e, "reading 'k'") as { code?: string; retryable?: boolean };
    assert.deepEqual([out.code, out.retryable], ["DATASET_STORE_UNAVAILABLE", true], e.message);
  }
  for (const e of [sdk("AccessDenied", 403), sdk("InvalidAccessKeyId", 403), sdk("InvalidArgument", 400)]) {
    assert.equal((s3Failure(e, "writing 'k'") as { code?: string }).code, "DATASET_STORE_IO", e.message);
  }
  assert.equal(s3Failure(sdk("SlowDown", 503), "reading 'k'").message, "Dataset store S3 reading 'k' failed: SlowDown (HTTP 503).");
});
