import assert from "node:assert/strict";
import { test } from "node:test";
import type { WorkContext } from "@skyferry/bus";
import { invalidField } from "@skyferry/errors";
import { createLogger } from "@skyferry/logger";
import { MongoServerSelectionError } from "mongodb";
import { jobFailedPermanently } from "../src/errors.ts";
import { guardWork } from "../src/reliability/guard.ts";

// The failure policy around every job's work handler (domain logic; the bus and JetStream are real
// in test/fault).
const logger = createLogger({ name: "t", level: "silent" });
const ctx = (over: Partial<WorkContext> = {}): WorkContext => ({ deliveryCount: 2, lastAttempt: false, messageId: "0123456789abcdef", subject: "s", signal: new AbortController().signal, ...over });
const dbDown = () => new MongoServerSelectionError("connect ECONNREFUSED 127.0.0.1:27017", { servers: new Map() } as never);

function setup(handler: () => Promise<void | { retryAfterMs: number }>) {
  const continued: string[] = [];
  const guarded = guardWork(handler, { retryDelayMs: (n) => n * 10, continueWork: async (_d, id) => void continued.push(id), logger });
  return { continued, run: (c: Partial<WorkContext> = {}) => guarded({ job_id: "0123456789abcdef" }, ctx(c)) };
}

test("a transient throw no runner handled (the database down while loading the job) is handed back after the delay, never terminated", async () => {
  const t = setup(async () => Promise.reject(dbDown()));
  assert.deepEqual(await t.run({ deliveryCount: 3 }), { retryAfterMs: 30 });
  assert.deepEqual(t.continued, []);
});

test("a permanent throw, or a job failure already recorded, is rethrown (terminated)", async () => {
  await assert.rejects(setup(async () => Promise.reject(invalidField("k", "bad"))).run(), /bad/);
  // Its cause may be a database error (the job gave up through an outage): still terminated.
  await assert.rejects(setup(async () => Promise.reject(jobFailedPermanently("j", dbDown()))).run(), (e: { code?: string }) => e.code === "XFER_JOB_FAILED");
});

test("on the last delivery JetStream allows, a hand-back continues in a new message after the delay, and this one is acknowledged", async () => {
  const thrown = setup(async () => Promise.reject(dbDown()));
  assert.equal(await thrown.run({ lastAttempt: true }), undefined);
  assert.equal(thrown.continued.length, 1);
  assert.match(thrown.continued[0]!, /^0123456789abcdef\.c[0-9a-z]+$/);
  const returned = setup(async () => ({ retryAfterMs: 5 }));
  assert.equal(await returned.run({ lastAttempt: true }), undefined);
  assert.equal(returned.continued.length, 1);
  const ok = setup(async () => undefined);
  assert.equal(await ok.run({ lastAttempt: true }), undefined);
  assert.deepEqual(ok.continued, [], "a job done on its last delivery needs no continuation");
});

test("a continuation stays in its message's chain: of a continuation, of a re-drive, of a retry", async () => {
  const t = setup(async () => Promise.reject(dbDown()));
  await t.run({ lastAttempt: true, messageId: "0123456789abcdef.c1abc" });
  await t.run({ lastAttempt: true, messageId: "0123456789abcdef.d2" });
  await t.run({ lastAttempt: true, messageId: "0123456789abcdef.r1.cz" });
  assert.match(t.continued[0]!, /^0123456789abcdef\.c[0-9a-z]+$/);
  assert.notEqual(t.continued[0], "0123456789abcdef.c1abc");
  assert.match(t.continued[1]!, /^0123456789abcdef\.d2\.c[0-9a-z]+$/);
  assert.match(t.continued[2]!, /^0123456789abcdef\.r1\.c[0-9a-z]+$/);
});

test("a worker stopping while the continuation waits hands the message back (throws) and publishes nothing", async () => {
  const stop = new AbortController();
  const t = setup(async () => ({ retryAfterMs: 60_000 }));
  const run = t.run({ lastAttempt: true, signal: stop.signal });
  stop.abort(new Error("stopping"));
  await assert.rejects(run, /stopping/);
  assert.deepEqual(t.continued, []);
});
