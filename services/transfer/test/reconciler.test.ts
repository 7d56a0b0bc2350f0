import assert from "node:assert/strict";
import { test } from "node:test";
import { createLogger } from "@skyferry/logger";
import type { JobDoc } from "../src/jobs/job-doc.ts";
import { createReconciler } from "../src/reliability/reconciler.ts";
import { fakeJobs } from "./fakes.ts";

// The reconciler's decisions (domain logic, fakes); the real sweep runs in test/fault/reconciler.test.ts.
const T0 = new Date("2026-01-01T00:00:00Z").getTime();
const MIN = 60_000;

function job(id: string, over: Partial<JobDoc>): JobDoc {
  return {
    _id: id, dedupe_key: id, idempotency_key: "i", user_id: "aaaaaaaaaaaaaaaa", history_id: "bbbbbbbbbbbbbbbb", dataset_id: "dddddddddddddddd", hid: 1,
    dataset_name: "d", store_key: "k", authz_id: "cccccccccccccccc", provider: "s3", bucket: "b", planned_key: "d", object_key: "d",
    overwrite_policy: "rename", storage_class: null, metadata: {}, state: "queued", outcome: null, bytes_total: 1, bytes_done: 0,
    checksum: { sha256: "", md5: "" }, attempts: 1, retries: 0, error: null, upload: null, worker: null,
    create_time: new Date(T0 - 60 * MIN), update_time: new Date(T0 - 10 * MIN), ...over,
  };
}

function setup(o: { held?: boolean; pending?: number; now?: () => number } = {}) {
  const jobs = fakeJobs();
  const published: string[] = [];
  const failed: string[] = [];
  let clock = T0;
  const r = createReconciler({
    jobs,
    lease: { take: async () => o.held ?? true, release: async () => undefined },
    backlog: async () => ({ pending: o.pending ?? 0, ackPending: 0 }),
    enqueue: async (_job, msgId) => void published.push(msgId),
    failed: (j) => void failed.push(j._id),
    now: () => new Date(clock),
    staleMs: 5 * MIN, patienceMs: 15 * MIN, graceMs: MIN, maxRedrives: 3, batch: 100,
    logger: createLogger({ name: "t", level: "silent" }),
  });
  return { jobs, published, failed, r, tick: (ms: number) => void (clock += ms) };
}

test("nothing is judged until the database has answered for the grace; then stale running and queued jobs are re-driven under <id>.d<n>", async () => {
  const t = setup();
  t.jobs.docs.set("r1", job("r1", { state: "running", run_msg: "r1", heartbeat_at: new Date(T0 - 6 * MIN) }));
  t.jobs.docs.set("q1", job("q1", { state: "queued" }));
  t.jobs.docs.set("fresh", job("fresh", { state: "running", heartbeat_at: new Date(T0 - MIN) }));
  assert.equal((await t.r.sweep()).skipped, "grace");
  t.tick(MIN);
  const out = await t.r.sweep();
  assert.deepEqual([out.redriven.sort(), t.published.sort()], [["q1", "r1"], ["q1.d1", "r1.d1"]]);
  assert.deepEqual([t.jobs.docs.get("r1")?.run_msg, t.jobs.docs.get("r1")?.state], ["r1.d1", "running"], "the claim goes to the new message");
  assert.equal((await t.r.sweep()).redriven.length, 0, "a re-driven job is fresh again: not re-driven at the next sweep");
});

test("queued jobs are left alone while the work queue holds undelivered messages; running ones are not", async () => {
  const t = setup({ pending: 5 });
  t.jobs.docs.set("r1", job("r1", { state: "running", heartbeat_at: new Date(T0 - 6 * MIN) }));
  t.jobs.docs.set("q1", job("q1", { state: "queued" }));
  await t.r.sweep();
  t.tick(MIN);
  assert.deepEqual((await t.r.sweep()).redriven, ["r1"]);
});

test("a stranded job past its patience ends 'gave up after'; one re-driven too often ends XFER_STRANDED; neither is published", async () => {
  const t = setup();
  t.jobs.docs.set("p", job("p", { state: "queued", transient_since: new Date(T0 - 20 * MIN), error: { code: "XFER_UNAVAILABLE", message: "The database was unreachable." } }));
  t.jobs.docs.set("m", job("m", { state: "running", heartbeat_at: new Date(T0 - 6 * MIN), redrives: 3 }));
  await t.r.sweep();
  t.tick(MIN);
  const out = await t.r.sweep();
  assert.deepEqual([out.failed.sort(), t.failed.sort(), t.published], [["m", "p"], ["m", "p"], []]);
  assert.deepEqual([t.jobs.docs.get("p")?.state, t.jobs.docs.get("p")?.error?.code, t.jobs.docs.get("p")?.error?.message], ["error", "XFER_GAVE_UP", "gave up after 21m: The database was unreachable."]);
  assert.equal(t.jobs.docs.get("m")?.error?.code, "XFER_STRANDED");
});

test("an instance without the lease looks at nothing", async () => {
  const t = setup({ held: false });
  t.jobs.docs.set("q1", job("q1", { state: "queued" }));
  t.tick(2 * MIN);
  const out = await t.r.sweep();
  assert.equal(out.skipped, "lease");
  assert.equal(out.active, undefined, "nor counts: only the lease holder reports jobs by state");
  assert.deepEqual(t.published, []);
});

test("the lease holder counts unfinished jobs by state after its sweep, the re-drives and ends included", async () => {
  const t = setup();
  t.jobs.docs.set("r1", job("r1", { state: "running", heartbeat_at: new Date(T0 - MIN) }));
  t.jobs.docs.set("q1", job("q1", { state: "queued" }));
  t.jobs.docs.set("q2", job("q2", { state: "queued", transient_since: new Date(T0 - 20 * MIN) }));
  t.jobs.docs.set("ok", job("ok", { state: "ok" }));
  assert.deepEqual((await t.r.sweep()).active, { new: 0, queued: 2, running: 1 }, "counted during the grace too");
  t.tick(MIN);
  // q1 is re-driven (stays queued, now under q1.d1); q2 is past its patience and ends in error.
  assert.deepEqual((await t.r.sweep()).active, { new: 0, queued: 1, running: 1 });
});
