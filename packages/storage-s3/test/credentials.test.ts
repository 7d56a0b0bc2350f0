import assert from "node:assert/strict";
import { test } from "node:test";
import { isStorageError } from "@skyferry/storage";
import { renewingCredentials } from "../src/index.ts";

const keys = (n: number) => ({ accessKeyId: `AK${n}`, secretAccessKey: `SK${n}` });

test("credentials are reused until the refresh margin, then fetched again, once for concurrent callers", async () => {
  let now = 0;
  let calls = 0;
  const provider = renewingCredentials(async () => ({ credentials: keys(++calls), expiresAt: now + 60 * 60_000 }), 5 * 60_000, () => now);
  assert.equal((await provider()).accessKeyId, "AK1");
  now = 54 * 60_000;
  assert.equal((await provider()).accessKeyId, "AK1");
  now = 56 * 60_000;
  const [a, b] = await Promise.all([provider(), provider()]);
  assert.equal(a.accessKeyId, "AK2");
  assert.equal(b.accessKeyId, "AK2");
  assert.equal(calls, 2);
  assert.deepEqual(a.expiration, new Date(now + 60 * 60_000));
});

test("short-lived credentials are renewed at half their lifetime", async () => {
  let now = 0;
  let calls = 0;
  const provider = renewingCredentials(async () => ({ credentials: keys(++calls), expiresAt: now + 2_000 }), 5 * 60_000, () => now);
  await provider();
  now = 999;
  assert.equal((await provider()).accessKeyId, "AK1");
  now = 1_000;
  assert.equal((await provider()).accessKeyId, "AK2");
});

test("a failed renewal keeps still-valid credentials, and fails with INVALID_CREDENTIALS once they expired", async () => {
  let now = 0;
  let fail = false;
  const provider = renewingCredentials(async () => {
    if (fail) throw new Error("authz down");
    return { credentials: keys(1), expiresAt: now + 10_000 };
  }, 1_000, () => now);
  await provider();
  fail = true;
  now = 9_500;
  assert.equal((await provider()).accessKeyId, "AK1");
  now = 10_000;
  await assert.rejects(provider(), (err) => isStorageError(err, "INVALID_CREDENTIALS") && err.providerReason === "CredentialsRefreshFailed");
});
