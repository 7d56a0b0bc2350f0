import assert from "node:assert/strict";
import { test } from "node:test";
import { throttle } from "../src/worker/throttle.ts";

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
