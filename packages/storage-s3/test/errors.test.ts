import assert from "node:assert/strict";
import { test } from "node:test";
import { StorageError } from "@skyferry/storage";
import { toStorageError } from "../src/index.ts";

const sdkError = (name: string, status?: number): Error =>
  Object.assign(new Error(`${name} message`), { name, ...(status ? { $metadata: { httpStatusCode: status } } : {}) });

test("S3 error codes map to provider-neutral codes and keep the S3 code as providerReason", () => {
  const cases: Array<[Error, string]> = [
    [sdkError("AccessDenied", 403), "ACCESS_DENIED"],
    [sdkError("InvalidAccessKeyId", 403), "INVALID_CREDENTIALS"],
    [sdkError("SignatureDoesNotMatch", 403), "INVALID_CREDENTIALS"],
    [sdkError("ExpiredToken", 400), "INVALID_CREDENTIALS"],
    [sdkError("NoSuchBucket", 404), "NOT_FOUND"],
    [sdkError("NoSuchKey", 404), "NOT_FOUND"],
    [sdkError("BadDigest", 400), "INTEGRITY"],
    [sdkError("InvalidDigest", 400), "INTEGRITY"],
    [sdkError("PreconditionFailed", 412), "ALREADY_EXISTS"],
    [sdkError("SlowDown", 503), "TRANSIENT"],
    [sdkError("InternalError", 500), "TRANSIENT"],
    [sdkError("InvalidRange", 416), "INVALID_ARGUMENT"],
    [sdkError("AbortError"), "ABORTED"],
    [sdkError("TimeoutError"), "TRANSIENT"],
    [Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }), "TRANSIENT"],
    [sdkError("Forbidden", 403), "ACCESS_DENIED"],
    [sdkError("Unknown", 502), "TRANSIENT"],
    [sdkError("Weird", 409), "UNKNOWN"],
  ];
  for (const [err, code] of cases) {
    const mapped = toStorageError(err, "PutObject");
    assert.equal(mapped.storageCode, code, `${err.name}`);
    assert.equal(mapped.cause, err);
    assert.equal(mapped.retryable, code === "TRANSIENT");
  }
  assert.equal(toStorageError(sdkError("AccessDenied", 403), "x").providerReason, "AccessDenied");
  assert.equal(toStorageError(Object.assign(new Error("x"), { code: "ECONNRESET" }), "x").providerReason, "ECONNRESET");
});

test("an answer without a body (a HEAD's 403) has its status as the reason, not the SDK's `Unknown`", () => {
  const mapped = toStorageError(Object.assign(sdkError("Unknown", 403), { Code: "Unknown" }), "HeadObject");
  assert.equal(mapped.storageCode, "ACCESS_DENIED");
  assert.equal(mapped.providerReason, "HTTP 403");
});

test("a StorageError passes through unchanged", () => {
  const e = new StorageError("INTEGRITY", "x");
  assert.equal(toStorageError(e, "y"), e);
});
