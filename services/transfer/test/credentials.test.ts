import assert from "node:assert/strict";
import { test } from "node:test";
import { createCredentialSource, type IssuedCredentials } from "../src/worker/credentials.ts";
import { throttle } from "../src/worker/throttle.ts";
import type { ProviderCredentials } from "@skyferry/contracts";

const keyOf = (c: ProviderCredentials) => (c.kind === "s3" ? c.access_key_id : "");

const issued = (n: number, expiresAt: number | null): IssuedCredentials => ({
  authz_id: "cccccccccccccccc",
  provider: "s3",
  expires_at: expiresAt === null ? null : new Date(expiresAt).toISOString(),
  credentials: { kind: "s3", region: "r", force_path_style: true, access_key_id: `key-${n}`, secret_access_key: "s" },
});

test("credentials are reused until shortly before they expire, then asked for again", async () => {
  let clock = 0;
  let calls = 0;
  const source = createCredentialSource({ issue: async () => issued(++calls, clock + 60_000), renewBeforeMs: 10_000, now: () => clock });
  assert.equal(keyOf(await source()), "key-1");
  clock = 40_000;
  assert.equal(keyOf(await source()), "key-1");
  clock = 46_000; // less than a quarter of the 60 s life left
  assert.equal(keyOf(await source()), "key-2");
  assert.equal(calls, 2);
});

test("concurrent callers share one renewal; long-lived keys are never renewed", async () => {
  let calls = 0;
  const source = createCredentialSource({ issue: async () => issued(++calls, null), renewBeforeMs: 1000 });
  await Promise.all([source(), source(), source()]);
  await source();
  assert.equal(calls, 1);
});

test("progress is throttled to one call per interval, delivering the latest value", async () => {
  let clock = 0;
  const seen: number[] = [];
  const t = throttle<number>(500, (v) => seen.push(v), { now: () => clock });
  t.push(1);
  t.push(2);
  t.push(3);
  assert.deepEqual(seen, [1]);
  clock = 500;
  t.flush();
  assert.deepEqual(seen, [1, 3]);
  t.cancel();
});

test("progress without a leading call: nothing before the first interval has passed", async () => {
  let clock = 1000;
  const seen: number[] = [];
  const t = throttle<number>(500, (v) => seen.push(v), { leading: false, now: () => clock });
  t.push(1);
  assert.deepEqual(seen, [], "a job finished within the interval reports no progress");
  clock = 1500;
  t.flush();
  assert.deepEqual(seen, [1]);
  t.cancel();
});
