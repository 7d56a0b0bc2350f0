import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { getEventListeners } from "node:events";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { isRetryable } from "@skyferry/errors";
import { isBodyReader, type ObjectStore, StorageError } from "@skyferry/storage";
import { MongoNetworkError } from "mongodb";
import { type BufferPool, createBufferPool } from "../src/worker/buffer-pool.ts";
import { jobControl } from "../src/jobs/lifecycle.ts";
import { WHOLE_READ_MAX } from "../src/worker/upload.ts";
import { fakeStore } from "./fakes.ts";
import { body, job, setup } from "./runner-setup.ts";

test("a job whose dataset is not its user's copies nothing and ends in error XFER_DATASET_NOT_OWNED", async () => {
  const store = fakeStore();
  const asked: string[] = [];
  const t = setup(store, job(), { k: body }, { datasetOwned: async (j) => (asked.push(`${j.user_id}/${j.history_id}/${j.dataset_id}/${j.store_key}`), false) });
  await assert.rejects(t.run(), (err: { code?: string }) => err.code === "XFER_JOB_FAILED", "the message is terminated");
  assert.deepEqual(asked, ["aaaaaaaaaaaaaaaa/bbbbbbbbbbbbbbbb/dddddddddddddddd/k"], "asked about the stored job's user, history, dataset and key");
  assert.equal(store.objects.size, 0, "no object written");
  assert.equal(t.doc().state, "error");
  assert.equal(t.doc().error?.code, "XFER_DATASET_NOT_OWNED");
});

test("a work message runs the job as MongoDB has it: an unknown job id, or a get job's id, does nothing", async () => {
  const store = fakeStore();
  const t = setup(store, job({ direction: "get" }));
  await t.run();
  assert.equal(t.doc().state, "queued", "a get job is not run as a send");
  const u = setup(store);
  u.jobs.docs.clear();
  await u.run();
  assert.equal(store.objects.size, 0);
});

test("a job uploads the dataset, verifies it, and ends ok with the object's key", async () => {
  const store = fakeStore();
  const t = setup(store);
  await t.run();
  assert.equal(t.doc().state, "ok");
  assert.equal(t.doc().attempts, 1);
  assert.deepEqual(store.objects.get("b/rep1.bed")?.body, body);
  assert.deepEqual(t.events, ["completed:rep1.bed"], "a job done within one progress interval reports only its completion");
});

for (const positional of [false, true]) {
  const larger = positional ? "reader" : "stream";
  test(`a small one-PUT dataset goes to the store as one buffer; a larger one, or a blob longer than declared, as a ${larger} (a dataset store ${positional ? "with" : "without"} positional reads)`, async () => {
    const seen: string[] = [];
    const store = fakeStore();
    const spy: ObjectStore = {
      ...store,
      put: async (input) => {
        const opened = typeof input.body === "function" ? await input.body() : input.body;
        seen.push(Buffer.isBuffer(opened) ? "buffer" : isBodyReader(opened) ? "reader" : "stream");
        return store.put({ ...input, body: () => opened });
      },
    };
    const big = Buffer.alloc(WHOLE_READ_MAX + 1, 7);
    const digests = (b: Buffer) => ({ sha256: createHash("sha256").update(b).digest("hex"), md5: createHash("md5").update(b).digest("hex") });
    const blobs = { k: body, big, long: Buffer.concat([body, Buffer.from("x")]) };
    await setup(spy, job(), blobs, { positional }).run();
    await setup(spy, job({ _id: "2222222222222222", store_key: "big", planned_key: "big.bin", bytes_total: big.length, checksum: digests(big) }), blobs, { positional }).run();
    const long = setup(spy, job({ _id: "3333333333333333", store_key: "long", planned_key: "long.bed" }), blobs, { positional });
    await long.run().catch(() => undefined);
    assert.deepEqual(seen, ["buffer", larger, larger]);
    assert.deepEqual(store.objects.get("b/rep1.bed")?.body, body);
    assert.deepEqual(store.objects.get("b/big.bin")?.body, big);
    assert.equal(long.doc().state, "error", "the longer blob's bytes do not match the declared sha256");
  });
}

test("a small dataset is read into a pooled buffer, given back once its put has succeeded and not after a failed one", async () => {
  const pool = createBufferPool(WHOLE_READ_MAX + 1, 4);
  const given: Buffer[] = [];
  const spyPool: BufferPool = { size: pool.size, take: () => pool.take(), give: (b) => (given.push(b), pool.give(b)) };
  const seen: Buffer[] = [];
  const store = fakeStore();
  let fail = false;
  const spy: ObjectStore = {
    ...store,
    put: async (input) => {
      const opened = typeof input.body === "function" ? await input.body() : input.body;
      if (Buffer.isBuffer(opened)) seen.push(opened);
      if (fail) throw new StorageError("TRANSIENT", "reset");
      return store.put({ ...input, body: () => opened });
    },
  };
  const ok = setup(spy, job(), { k: body }, { wholeReads: spyPool });
  await ok.run();
  assert.equal(ok.doc().state, "ok");
  assert.equal(seen.length, 1);
  assert.ok(given.length === 1 && seen[0]!.buffer === given[0]!.buffer, "the body was a view of the pooled buffer, given back after the put");
  assert.deepEqual(store.objects.get("b/rep1.bed")?.body, body);
  fail = true;
  const bad = setup(spy, job({ _id: "4444444444444444" }), { k: body }, { wholeReads: spyPool });
  await bad.run().catch(() => undefined);
  assert.equal(seen.length, 2);
  assert.equal(given.length, 1, "a failed put's buffer is not given back (the transport may still hold it)");
});

test("a one-PUT job is read, sent and ended with one write that counts its attempt; its last bytes are not written before its completion", async () => {
  const store = fakeStore();
  const seen: string[] = [];
  const slowPut: ObjectStore["put"] = async (input) => {
    seen.push(`${slow.doc().state}:${slow.doc().attempts}`);
    await sleep(700); // one progress interval and a bit
    return store.put(input);
  };
  const slow = setup({ ...store, put: slowPut });
  const recorded: number[] = [];
  slow.jobs.progress = async (_id, bytes) => void recorded.push(bytes);
  await slow.run();
  assert.deepEqual(seen, ["queued:0"], "no write before the PUT");
  assert.deepEqual(slow.events, ["progress", "completed:rep1.bed"], "the last bytes are a progress event...");
  assert.deepEqual(recorded, [], "...but not a write of the job: its completion follows");
  assert.deepEqual([slow.doc().state, slow.doc().attempts], ["ok", 1]);
});

test("rename: a taken key gets Galaxy's UTC suffix; a race lost at commit moves to the next one", async () => {
  const store = fakeStore({
    beforeCommit: (key) => {
      if (key === "rep1.bed_260304_050607") store.objects.set("b/rep1.bed_260304_050607", { body: Buffer.from("other"), info: { key, size: 5, etag: "o", metadata: {} } });
    },
  });
  store.objects.set("b/rep1.bed", { body: Buffer.from("old"), info: { key: "rep1.bed", size: 3, etag: "o", metadata: {} } });
  const t = setup(store);
  await t.run();
  assert.equal(t.doc().object_key, "rep1.bed_260304_050607_2");
  assert.deepEqual(store.objects.get("b/rep1.bed")?.body, Buffer.from("old"));
  assert.deepEqual(store.objects.get("b/rep1.bed_260304_050607")?.body, Buffer.from("other"));
  // A one-PUT object finds the taken key at its conditional PUT (no HEAD first): both lost commits abandon their upload.
  assert.equal(store.aborted.length, 2, "each upload that lost at commit is aborted");
});

test("skip leaves the existing object and ends ok as skipped; fail ends in error; overwrite replaces", async () => {
  for (const [policy, state, outcome] of [["skip", "ok", "skipped"], ["fail", "error", null], ["overwrite", "ok", "uploaded"]] as const) {
    const store = fakeStore();
    store.objects.set("b/rep1.bed", { body: Buffer.from("old"), info: { key: "rep1.bed", size: 3, etag: "o", metadata: {} } });
    const t = setup(store, job({ overwrite_policy: policy }));
    if (policy === "fail") await assert.rejects(t.run(), (err) => !isRetryable(err));
    else await t.run();
    assert.equal(t.doc().state, state, policy);
    assert.equal(t.doc().outcome, outcome, policy);
    assert.deepEqual(store.objects.get("b/rep1.bed")?.body, policy === "overwrite" ? body : Buffer.from("old"), policy);
    if (policy === "fail") assert.equal(t.doc().error?.code, "XFER_OBJECT_EXISTS");
  }
});

test("a missing bucket is permanent: the job is in error with the provider's reason and the message is terminated", async () => {
  const t = setup(fakeStore({ buckets: [] }));
  await assert.rejects(t.run(), (err) => !isRetryable(err));
  assert.equal(t.doc().state, "error");
  assert.equal(t.doc().error?.provider_reason, "NoSuchBucket");
  assert.deepEqual(t.events, ["failed:error"]);
});

test("a transient failure requeues the job and keeps the recorded upload for resume", async () => {
  const store = fakeStore();
  const put = store.put.bind(store);
  let calls = 0;
  store.put = async (input) => {
    if (++calls === 1) {
      await input.onUploadStarted?.("up-x");
      await input.onPartDone?.({ number: 1, etag: "e1", size: 5 });
      throw new StorageError("TRANSIENT", "SlowDown", { providerReason: "SlowDown", cause: Object.assign(new Error("SlowDown"), { name: "SlowDown", $metadata: { httpStatusCode: 503 } }) });
    }
    assert.deepEqual(input.resume, { uploadId: "up-x", parts: [{ number: 1, etag: "e1", size: 5 }] });
    return put(input);
  };
  const t = setup(store);
  assert.deepEqual(await t.runWith({ deliveryCount: 3 }), { retryAfterMs: 4000 }, "handed back after a doubling delay (nak), not terminated");
  assert.equal(t.doc().state, "queued");
  assert.equal(t.doc().upload?.upload_id, "up-x");
  assert.ok(t.doc().transient_since instanceof Date, "the start of its transient failures is recorded");
  assert.equal(t.doc().error?.failure, "throttled", "with the failure as its last error");
  await t.run();
  assert.equal(t.doc().state, "ok");
  assert.equal(t.doc().attempts, 2);
});

test("a transient failure on the last delivery does not end the job; once the patience since the first one has run out, it ends in error 'gave up after' and aborts the upload", async () => {
  const store = fakeStore();
  store.put = async (input) => {
    await input.onUploadStarted?.("up-y");
    throw new StorageError("TRANSIENT", "reset", { cause: Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }) });
  };
  let clock = new Date("2026-01-01T00:00:00Z");
  const t = setup(store, job(), { k: body }, { now: () => clock });
  assert.deepEqual(await t.runWith({ deliveryCount: 10, lastAttempt: true }), { retryAfterMs: 60_000 }, "the delay is capped");
  assert.equal(t.doc().state, "queued");
  assert.equal(t.doc().transient_since?.toISOString(), "2026-01-01T00:00:00.000Z");
  clock = new Date("2026-01-01T00:14:59Z");
  assert.deepEqual(await t.run(), { retryAfterMs: 1000 });
  assert.equal(t.doc().transient_since?.toISOString(), "2026-01-01T00:00:00.000Z", "measured from the first transient failure, not the last");
  assert.deepEqual(store.aborted, [], "the upload is kept for the next attempt");
  clock = new Date("2026-01-01T00:15:00Z");
  await assert.rejects(t.run(), (err) => !isRetryable(err) && (err as { code?: string }).code === "XFER_JOB_FAILED", "terminated once it gives up");
  assert.equal(t.doc().state, "error");
  assert.equal(t.doc().error?.code, "XFER_GAVE_UP");
  assert.equal(t.doc().error?.message, "gave up after 15m: The storage endpoint could not be reached.");
  assert.deepEqual(store.aborted, ["rep1.bed:up-y"]);
});

test("a permanent failure ends the job in error at once, on the first delivery", async () => {
  const store = fakeStore();
  store.put = async () => {
    throw new StorageError("ACCESS_DENIED", "denied", { providerReason: "AccessDenied" });
  };
  const t = setup(store, job({ bytes_total: 40 << 20 }), { k: Buffer.alloc(40 << 20, 1) });
  await assert.rejects(t.run(), (err) => (err as { code?: string }).code === "XFER_JOB_FAILED");
  assert.deepEqual([t.doc().state, t.doc().error?.failure, t.doc().transient_since ?? null], ["error", "access_denied", null]);
});

test("a cancelled job stops its upload, aborts it, and is acknowledged", async () => {
  const store = fakeStore();
  const t = setup(store);
  store.put = async (input) => {
    await input.onUploadStarted?.("up-z");
    await t.jobs.markCancelled("1111111111111111");
    t.running.get("1111111111111111")?.abort();
    throw new StorageError("ABORTED", "aborted");
  };
  await t.run();
  assert.equal(t.doc().state, "deleted");
  assert.deepEqual(store.aborted, ["rep1.bed:up-z"]);
  await t.run(); // a redelivery of a cancelled job does nothing
  assert.equal(t.doc().state, "deleted");
});

test("the worker stopping mid-upload hands the job back without cancelling it; no run leaves a listener on the worker's signal", async () => {
  const store = fakeStore();
  const t = setup(store);
  const worker = new AbortController();
  store.put = async (input) => {
    worker.abort(); // the worker is stopping: the job's signal fires, but this is no cancel
    assert.equal(input.signal?.aborted, true);
    throw new StorageError("ABORTED", "aborted");
  };
  await assert.rejects(t.runWith({ signal: worker.signal }), (err) => err instanceof StorageError && err.storageCode === "ABORTED");
  assert.equal(t.doc().state, "queued", "handed back for another worker, not deleted");
  assert.deepEqual(t.events, []);

  const quiet = new AbortController();
  const ok = setup(fakeStore());
  await ok.runWith({ signal: quiet.signal });
  assert.equal(ok.doc().state, "ok");
  assert.equal(getEventListeners(quiet.signal, "abort").length, 0);
});

test("jobControl: a cancel and the worker's stop both fire the signal; only a cancel counts as cancelled", () => {
  const outer = new AbortController();
  const a = jobControl(outer.signal);
  const b = jobControl(outer.signal);
  a.abort();
  assert.equal(a.signal.aborted, true);
  assert.equal(a.cancelled, true);
  assert.equal(b.signal.aborted, false);
  outer.abort(new Error("stopping"));
  assert.equal(b.signal.aborted, true);
  assert.equal(b.cancelled, false);
  assert.equal((b.signal.reason as Error).message, "stopping");
  const late = jobControl(outer.signal); // created after the stop: fired already
  assert.equal(late.signal.aborted, true);
  for (const c of [a, b, late]) c.dispose();
  assert.equal(getEventListeners(outer.signal, "abort").length, 0);
});

for (const policy of ["rename", "fail", "skip"] as const) {
  test(`policy ${policy}: a job whose earlier attempt committed its object but could not record its end (the database down) ends ok with that object, no second one`, async () => {
    const store = fakeStore();
    const t = setup(store, job({ overwrite_policy: policy }));
    const complete = t.jobs.complete;
    const requeue = t.jobs.requeue;
    let down = true;
    // The database goes away after the PUT: neither the completion nor the requeue can be written.
    t.jobs.complete = async (...a) => (down ? Promise.reject(new MongoNetworkError("connection closed")) : complete(...a));
    t.jobs.requeue = async (...a) => (down ? Promise.reject(new MongoNetworkError("connection closed")) : requeue(...a));
    await assert.rejects(t.run(), (err) => err instanceof MongoNetworkError, "the write's failure reaches the work guard (a nak)");
    assert.equal(t.doc().state, "queued", "nothing recorded");
    assert.equal(store.objects.size, 1);
    down = false;
    await t.run();
    assert.deepEqual([t.doc().state, t.doc().outcome, t.doc().object_key], ["ok", "uploaded", "rep1.bed"]);
    assert.deepEqual([...store.objects.keys()], ["b/rep1.bed"], "no second object");
  });
}

test("a rename walks the same suffixes in every attempt: the job's own object under a suffixed key ends the job, no third key", async () => {
  const store = fakeStore();
  store.objects.set("b/rep1.bed", { body: Buffer.from("someone else's"), info: { key: "rep1.bed", size: 14, etag: "o", metadata: {} } });
  const t = setup(store, job());
  const complete = t.jobs.complete;
  let down = true;
  t.jobs.complete = async (...a) => (down ? Promise.reject(new MongoNetworkError("connection closed")) : complete(...a));
  t.jobs.requeue = async () => Promise.reject(new MongoNetworkError("connection closed"));
  await assert.rejects(t.run());
  down = false;
  await t.run();
  assert.equal(t.doc().state, "ok");
  assert.deepEqual([...store.objects.keys()].sort(), ["b/rep1.bed", "b/rep1.bed_260304_050607"]);
});
