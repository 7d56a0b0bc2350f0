import assert from "node:assert/strict";
import { test } from "node:test";
import { classifyFailure, StorageError } from "../src/index.ts";

// Issue 19: a fixed vocabulary for provider failures, with the provider's status and code only.
const sdk = (name: string, status: number, message = "provider text <Error><Message>secret body</Message></Error>") =>
  Object.assign(new Error(message), { name, Code: name, $metadata: { httpStatusCode: status } });
const azure = (code: string, status: number) => Object.assign(new Error(`${code}\nRequestId:x\nTime:y`), { name: "RestError", statusCode: status, details: { errorCode: code } });
const net = (code: string) => Object.assign(new Error(`connect ${code} 10.0.0.1:443`), { code });

test("provider answers map to the vocabulary, keeping status and code, never the provider's text", () => {
  const cases: Array<[unknown, string, number | undefined, string | undefined]> = [
    [sdk("NoSuchBucket", 404), "no_such_bucket", 404, "NoSuchBucket"],
    [azure("ContainerNotFound", 404), "no_such_bucket", 404, "ContainerNotFound"],
    [sdk("AccessDenied", 403), "access_denied", 403, "AccessDenied"],
    [azure("AuthorizationPermissionMismatch", 403), "access_denied", 403, "AuthorizationPermissionMismatch"],
    [sdk("SignatureDoesNotMatch", 403), "invalid_credentials", 403, "SignatureDoesNotMatch"],
    [sdk("ExpiredToken", 400), "expired", 400, "ExpiredToken"],
    [sdk("SlowDown", 503), "throttled", 503, "SlowDown"],
    [azure("ServerBusy", 503), "throttled", 503, "ServerBusy"],
    [sdk("InternalError", 500), "provider_error", 500, "InternalError"],
    // A HEAD's answer has no body: the SDK names its error `Unknown`, which is no provider's code.
    [sdk("Unknown", 403), "access_denied", 403, undefined],
    [new StorageError("NOT_FOUND", "S3 HeadObject failed", { cause: sdk("NoSuchBucket", 404) }), "no_such_bucket", 404, "NoSuchBucket"],
  ];
  for (const [err, failure, status, code] of cases) {
    const f = classifyFailure(err);
    assert.deepEqual([f.failure, f.provider_status, f.provider_code], [failure, status, code], JSON.stringify(err));
    assert.doesNotMatch(f.reason, /secret body|RequestId|provider text/);
  }
});

test("network, TLS and policy failures map to unreachable, timeout, tls_error and refused_address", () => {
  assert.equal(classifyFailure(net("ECONNREFUSED")).failure, "unreachable");
  assert.equal(classifyFailure(net("ENOTFOUND")).failure, "unreachable");
  assert.equal(classifyFailure(net("ETIMEDOUT")).failure, "timeout");
  assert.equal(classifyFailure(net("DEPTH_ZERO_SELF_SIGNED_CERT")).failure, "tls_error");
  assert.equal(classifyFailure(net("ERR_TLS_CERT_ALTNAME_INVALID")).failure, "tls_error");
  assert.equal(classifyFailure(Object.assign(new Error("The destination 127.0.0.1 is not allowed"), { code: "OUTBOUND_REFUSED" })).failure, "refused_address");
  assert.equal(classifyFailure(new StorageError("OUTBOUND_REFUSED", "not allowed")).failure, "refused_address");
  const weird = classifyFailure(sdk("has spaces and <xml>", 418));
  assert.equal(weird.provider_code, undefined, "a code that is not code-like is left out");
  assert.equal(weird.failure, "invalid_request");
});
