import assert from "node:assert/strict";
import { test } from "node:test";
import { StorageError } from "@skyferry/storage";
import { SkyferryError } from "@skyferry/errors";
import { jobError } from "../src/jobs/lifecycle.ts";

// Issue 19: what a failed job records — the vocabulary with the provider's status and code, never
// the provider's body, and no text of an internal exception.
test("a storage failure is recorded in the vocabulary with the provider's status and code, not its body", () => {
  const sdk = Object.assign(new Error("<Error><Code>AccessDenied</Code><Message>internal detail</Message></Error>"), { name: "AccessDenied", Code: "AccessDenied", $metadata: { httpStatusCode: 403 } });
  const e = jobError(new StorageError("ACCESS_DENIED", "S3 PutObject failed: AccessDenied (HTTP 403): internal detail", { providerReason: "AccessDenied", cause: sdk }));
  assert.deepEqual(e, {
    code: "STORAGE_ACCESS_DENIED",
    message: "The storage service denied access with these credentials.",
    failure: "access_denied",
    provider_reason: "AccessDenied",
    provider_status: 403,
    provider_code: "AccessDenied",
  });
});

test("an address refused by the outbound policy is refused_address with the policy's reason", () => {
  const e = jobError(new StorageError("OUTBOUND_REFUSED", "The destination 127.0.0.1 is not allowed: the address 127.0.0.1 is loopback.", { providerReason: "OUTBOUND_REFUSED" }));
  assert.equal(e.failure, "refused_address");
  assert.match(e.message, /not allowed/);
});

test("our coded errors keep their message; anything else says nothing of the exception", () => {
  assert.deepEqual(jobError(new SkyferryError("XFER_X", "ours", { status: 400 })), { code: "XFER_X", message: "ours" });
  const internal = jobError(new TypeError("Cannot read properties of undefined (reading 'blobItems')"));
  assert.equal(internal.code, "XFER_INTERNAL");
  assert.doesNotMatch(internal.message, /Cannot read|blobItems/);
});
