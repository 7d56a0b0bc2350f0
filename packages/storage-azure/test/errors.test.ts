import assert from "node:assert/strict";
import { test } from "node:test";
import { RestError } from "@azure/storage-blob";
import { renewingTokenCredential, toStorageError } from "../src/index.ts";

const rest = (code: string | undefined, statusCode: number, message = code ?? "x"): RestError => {
  const e = new RestError(message, { statusCode, ...(code ? { code } : {}) });
  if (code) Object.assign(e, { details: { errorCode: code } });
  return e;
};

test("Azure error codes map to provider-neutral codes and keep Azure's code as providerReason", () => {
  const cases: Array<[RestError | Error, string]> = [
    [rest("AuthenticationFailed", 403), "INVALID_CREDENTIALS"],
    [rest("AuthorizationFailure", 403), "ACCESS_DENIED"],
    [rest("AuthorizationPermissionMismatch", 403), "ACCESS_DENIED"],
    [rest("ContainerNotFound", 404), "NOT_FOUND"],
    [rest("BlobNotFound", 404), "NOT_FOUND"],
    [rest("Md5Mismatch", 400), "INTEGRITY"],
    [rest("InvalidOperation", 400, "Provided contentMD5 doesn't match."), "INTEGRITY"],
    [rest("BlobAlreadyExists", 409), "ALREADY_EXISTS"],
    [rest("ConditionNotMet", 412), "ALREADY_EXISTS"],
    [rest("ServerBusy", 503), "TRANSIENT"],
    [rest(undefined, 500), "TRANSIENT"],
    [rest("REQUEST_SEND_ERROR", 0), "TRANSIENT"],
    [rest("InvalidRange", 416), "INVALID_ARGUMENT"],
    [rest("LeaseIdMissing", 409), "UNKNOWN"],
    [Object.assign(new Error("aborted"), { name: "AbortError" }), "ABORTED"],
  ];
  for (const [err, code] of cases) {
    const mapped = toStorageError(err, "stageBlock");
    assert.equal(mapped.storageCode, code, err.message);
    assert.equal(mapped.cause, err);
  }
  assert.equal(toStorageError(rest("AuthorizationFailure", 403), "x").providerReason, "AuthorizationFailure");
});

test("a token function becomes a TokenCredential that renews before expiry, once per renewal", async () => {
  let calls = 0;
  const cred = renewingTokenCredential(async () => ({ token: `t${++calls}`, expiresAt: Date.now() + 60_000 }), 5 * 60_000);
  const a = await cred.getToken("https://storage.azure.com/.default");
  const b = await cred.getToken("https://storage.azure.com/.default");
  assert.equal(a?.token, "t1");
  assert.equal(b?.token, "t1");
  assert.ok(a && a.expiresOnTimestamp > Date.now());
  assert.equal(calls, 1);
});
