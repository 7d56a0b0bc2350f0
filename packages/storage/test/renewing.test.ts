import assert from "node:assert/strict";
import { test } from "node:test";
import { SkyferryError } from "@skyferry/errors";
import { createRenewer, isStorageError } from "../src/index.ts";

test("createRenewer keeps a value until min(margin, half its lifetime) before expiry, fetching once for concurrent callers", async () => {
  let now = 0;
  let calls = 0;
  const get = createRenewer(async () => ({ value: ++calls, expiresAt: now + 10_000 }), 60_000, () => now);
  assert.equal((await get()).value, 1);
  now = 4_999;
  assert.equal((await get()).value, 1);
  now = 5_000;
  const [a, b] = await Promise.all([get(), get()]);
  assert.equal(a.value, 2);
  assert.equal(b.value, 2);
  assert.equal(calls, 2);
});

test("createRenewer reports a failed fetch as TRANSIENT for retryable errors and INVALID_CREDENTIALS otherwise", async () => {
  const transient = createRenewer(async () => {
    throw new SkyferryError("X", "down", { status: 503, retryable: true });
  }, 1000);
  await assert.rejects(transient(), (e) => isStorageError(e, "TRANSIENT"));
  const bad = createRenewer(async () => {
    throw new Error("no such authorization");
  }, 1000);
  await assert.rejects(bad(), (e) => isStorageError(e, "INVALID_CREDENTIALS"));
});
