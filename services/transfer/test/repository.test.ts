import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, test } from "node:test";
import { connectMongo, type Mongo } from "@skyferry/db";
import { createLogger } from "@skyferry/logger";
import { dedupeKey, type JobDoc } from "../src/jobs/job-doc.ts";
import { createJobRepository, type JobRepository } from "../src/jobs/repository.ts";

// Against the stack's real MongoDB-compatible server (FerretDB): the unique key and atomic updates.
const url = process.env.MONGO_URL ?? "mongodb://127.0.0.1:27017";
let mongo: Mongo;
let repo: JobRepository;
const dbName = `t_xferrepo_${randomBytes(4).toString("hex")}`;
/** A stale cutoff no heartbeat is older than: a claim for another message never takes over a running job. */
const PAST = new Date(0);

before(async () => {
  mongo = await connectMongo({ url, dbName, logger: createLogger({ name: "t", level: "silent" }), attempts: 2 });
  repo = createJobRepository(mongo.db);
  await repo.ensureIndexes();
});
after(async () => {
  await mongo?.db.dropDatabase().catch(() => undefined);
  await mongo?.close();
});

const doc = (over: Partial<JobDoc> = {}): JobDoc => {
  const base = { dataset_id: "dddddddddddddddd", provider: "s3" as const, authz_id: "cccccccccccccccc", bucket: "b", planned_key: "k", idempotency_key: "i", ...over };
  const now = new Date();
  return {
    _id: randomBytes(8).toString("hex"), dedupe_key: dedupeKey(base), user_id: "aaaaaaaaaaaaaaaa", history_id: "bbbbbbbbbbbbbbbb", hid: 1,
    dataset_name: "k", store_key: "s", object_key: "k", overwrite_policy: "rename", storage_class: null, metadata: {}, state: "queued", outcome: null,
    bytes_total: 10, bytes_done: 0, checksum: { sha256: "s", md5: "m" }, attempts: 0, retries: 0, error: null, upload: null, worker: null,
    create_time: now, update_time: now, ...base, ...over,
  };
};

test("the unique key (item, destination, idempotency key) returns the stored job instead of a duplicate", async () => {
  const a = await repo.insertOrFind(doc());
  const b = await repo.insertOrFind(doc());
  assert.equal(a.created, true);
  assert.equal(b.created, false);
  assert.equal(b.doc._id, a.doc._id);
  const c = await repo.insertOrFind(doc({ idempotency_key: "other" }));
  assert.equal(c.created, true);
});

test("a batch insert stores new jobs and returns the stored one for each duplicate, in order", async () => {
  const first = await repo.insertOrFind(doc({ idempotency_key: "batch", planned_key: "b1" }));
  const out = await repo.insertManyOrFind([
    doc({ idempotency_key: "batch", planned_key: "b0" }),
    doc({ idempotency_key: "batch", planned_key: "b1" }),
    doc({ idempotency_key: "batch", planned_key: "b2" }),
  ]);
  assert.deepEqual(out.map((o) => o.created), [true, false, true]);
  assert.equal(out[1]!.doc._id, first.doc._id, "the duplicate is the job stored before");
  assert.equal((await repo.get(out[2]!.doc._id))?.planned_key, "b2");
  const again = await repo.insertManyOrFind([doc({ idempotency_key: "batch", planned_key: "b0" })]);
  assert.equal(again[0]!.doc._id, out[0]!.doc._id);
});

test("claim, recorded parts, complete: the upload state needed for resume lives in the job document", async () => {
  const { doc: j } = await repo.insertOrFind(doc({ idempotency_key: "claim" }));
  const claimed = await repo.claim(j._id, "w1", "send", "m1", PAST);
  assert.equal(claimed?.state, "running");
  assert.equal(claimed?.attempts, 1);
  await repo.uploadStarted(j._id, "k", "upload-1");
  // Parts finish concurrently: each is its own document, so none is lost (FerretDB loses concurrent updates of one document).
  await Promise.all(Array.from({ length: 20 }, (_, i) => repo.partDone(j._id, "upload-1", { number: i + 1, etag: `e${i + 1}`, size: 5 })));
  const again = await repo.claim(j._id, "w2", "send", "m1", PAST);
  assert.equal(again?.attempts, 2);
  assert.equal(again?.upload?.upload_id, "upload-1");
  assert.deepEqual((await repo.parts(j._id, "upload-1")).map((p) => p.number), Array.from({ length: 20 }, (_, i) => i + 1));
  const done = await repo.complete(j._id, { object_key: "k", outcome: "uploaded", bytes_done: 10 });
  assert.equal(done?.state, "ok");
  assert.equal(done?.upload, null);
  assert.equal(await repo.claim(j._id, "w3", "send", "m1", PAST), null, "a finished job is not claimed again");
});

test("every change of a job is one conditional update of its document: requeue, a second claim, progress; nothing lands after the final state", async () => {
  const history_id = randomBytes(8).toString("hex");
  const { doc: j } = await repo.insertOrFind(doc({ idempotency_key: "start", history_id }));
  const first = await repo.claim(j._id, "w1", "send", "m1", PAST);
  assert.deepEqual([first?.state, first?.worker, first?.attempts], ["running", "w1", 1]);
  const listed = await repo.list(j.user_id, { history_id, state: "running" });
  assert.deepEqual(listed.map((d) => [d._id, d.state]), [[j._id, "running"]], "listed under running, not queued");
  assert.deepEqual(await repo.list(j.user_id, { history_id, state: "queued" }), []);
  await repo.requeue(j._id, { code: "XFER_TRANSIENT", message: "reset" }, new Date());
  const requeued = await repo.get(j._id);
  assert.deepEqual([requeued?.state, requeued?.attempts, requeued?.error?.code], ["queued", 1, "XFER_TRANSIENT"]);
  const second = await repo.claim(j._id, "w2", "send", "m1", PAST);
  assert.deepEqual([second?.state, second?.worker, second?.attempts], ["running", "w2", 2]);
  await repo.progress(j._id, 5);
  assert.equal((await repo.get(j._id))?.bytes_done, 5);
  const done = await repo.complete(j._id, { object_key: "k", outcome: "uploaded", bytes_done: 10 });
  assert.deepEqual([done?.state, done?.attempts, done?.error], ["ok", 2, null]);
  // Late writers change nothing.
  await repo.progress(j._id, 7);
  await repo.requeue(j._id, { code: "XFER_TRANSIENT", message: "late" }, new Date());
  assert.equal(await repo.fail(j._id, { code: "X", message: "late" }), null);
  assert.equal(await repo.complete(j._id, { object_key: "k2", outcome: "uploaded", bytes_done: 10 }), null);
  const after = await repo.get(j._id);
  assert.deepEqual([after?.state, after?.bytes_done, after?.object_key], ["ok", 10, "k"]);
});

test("a claim held for a message is taken over at once by that message's continuation (the database went away under it), not by another message", async () => {
  const { doc: j } = await repo.insertOrFind(doc({ idempotency_key: "chain" }));
  assert.equal((await repo.claim(j._id, "w1", "send", j._id, PAST))?.run_msg, j._id);
  assert.equal(await repo.claim(j._id, "w2", "send", `${j._id}.d1`, PAST), null, "a re-drive's message does not take a fresh claim");
  assert.equal(await repo.claim(j._id, "w2", "send", `${j._id}x.c1`, PAST), null, "nor another job's chain");
  const c1 = await repo.claim(j._id, "w2", "send", `${j._id}.c1`, PAST);
  assert.deepEqual([c1?.worker, c1?.run_msg, c1?.attempts], ["w2", `${j._id}.c1`, 2]);
  assert.equal((await repo.claim(j._id, "w1", "send", `${j._id}.c2`, PAST))?.run_msg, `${j._id}.c2`, "a continuation of a continuation");
  assert.equal(await repo.claim(j._id, "w1", "send", j._id.slice(0, 8), PAST), null, "a prefix of the id is no chain of it");
  // A re-driven claim belongs to the re-drive's chain only.
  const redriven = await repo.redrive((await repo.get(j._id))!);
  assert.equal(redriven?.run_msg, `${j._id}.d1`);
  assert.equal(await repo.claim(j._id, "w3", "send", `${j._id}.c3`, PAST), null, "the superseded chain does not take it back");
  assert.equal((await repo.claim(j._id, "w3", "send", `${j._id}.d1.c1`, PAST))?.run_msg, `${j._id}.d1.c1`);
});

test("many claims of one job at once are each counted, none lost; a get job is not claimed as a send, nor a send as a get", async () => {
  const { doc: j } = await repo.insertOrFind(doc({ idempotency_key: "race" }));
  const claims = await Promise.all(Array.from({ length: 12 }, (_, i) => repo.claim(j._id, `w${i}`, "send", "m1", PAST).then((c) => (c ? c : null))));
  // A redelivered job is claimed again by design (attempts counted); at once, each claim counts one attempt.
  assert.deepEqual(claims.map((c) => c?.attempts).sort((a, b) => (a ?? 0) - (b ?? 0)), Array.from({ length: 12 }, (_, i) => i + 1), "every claim counted: none lost");
  const { doc: g } = await repo.insertOrFind(doc({ idempotency_key: "get", direction: "get" }));
  assert.equal(await repo.claim(g._id, "w", "send", "m1", PAST), null);
  assert.equal((await repo.claim(g._id, "w", "get", "m1", PAST))?.state, "running");
  assert.equal(await repo.claim(j._id, "w", "get", "m1", PAST), null);
});

test("a cancel is idempotent and stops claims and completions; only unfinished jobs become deleted; retry only failed ones", async () => {
  const { doc: j } = await repo.insertOrFind(doc({ idempotency_key: "cancel" }));
  assert.equal(await repo.isCancelled(j._id), false);
  await Promise.all([repo.markCancelled(j._id), repo.markCancelled(j._id)]);
  assert.equal(await repo.isCancelled(j._id), true);
  assert.equal(await repo.claim(j._id, "w", "send", "m1", PAST), null, "a cancelled job is not claimed");
  assert.equal(await repo.complete(j._id, { object_key: "k", outcome: "uploaded", bytes_done: 1 }), null, "nor completed");
  assert.equal((await repo.setDeleted(j._id))?.state, "deleted");
  assert.equal(await repo.setDeleted(j._id), null);
  assert.equal(await repo.retry(j._id, j.user_id), null);
  const { doc: f } = await repo.insertOrFind(doc({ idempotency_key: "retry" }));
  await repo.claim(f._id, "w", "send", "m1", PAST);
  assert.equal((await repo.fail(f._id, { code: "X", message: "m" }))?.state, "error");
  const r = await repo.retry(f._id, f.user_id);
  assert.equal(r?.state, "queued");
  assert.equal(r?.retries, 1);
  assert.equal(r?.error, null);
  assert.ok((await repo.list(f.user_id, { state: "queued" })).some((x) => x._id === f._id));
  assert.ok((await repo.list(f.user_id, { state: "deleted" })).every((x) => x.state === "deleted"));
});

test("a job running for one message is not claimed for another while its heartbeat is fresh; it is once stale, and the first run learns it lost the job", async () => {
  const { doc: j } = await repo.insertOrFind(doc({ idempotency_key: "exclusive" }));
  assert.equal((await repo.claim(j._id, "w1", "send", "m1", PAST))?.run_msg, "m1");
  assert.equal(await repo.claim(j._id, "w2", "send", "m2", PAST), null, "a duplicate message does not run a job a live worker runs");
  assert.equal((await repo.claim(j._id, "w1b", "send", "m1", PAST))?.worker, "w1b", "the same message redelivered (a crash) claims it again");
  assert.equal(await repo.heartbeat(j._id, "m1"), true);
  const taken = await repo.claim(j._id, "w3", "send", "m3", new Date(Date.now() + 60_000));
  assert.deepEqual([taken?.worker, taken?.run_msg], ["w3", "m3"], "a heartbeat older than the cutoff no longer holds the claim");
  assert.equal(await repo.heartbeat(j._id, "m1"), false, "the first run is told it lost the job");
  await repo.requeue(j._id, { code: "XFER_UNAVAILABLE", message: "The database was unreachable." }, new Date(1000));
  assert.equal((await repo.claim(j._id, "w4", "send", "m4", PAST))?.state, "running", "a queued job is claimed by any message");
  assert.equal((await repo.get(j._id))?.transient_since?.getTime(), 1000, "the start of its transient failures is kept until it ends");
  const done = await repo.complete(j._id, { object_key: "k", outcome: "uploaded", bytes_done: 10 });
  assert.equal(done?.transient_since, null);
});

test("stale jobs are found by state and age; a re-drive hands the claim to message <id>.d<n> once, and not after a worker wrote", async () => {
  const history_id = randomBytes(8).toString("hex");
  const { doc: r } = await repo.insertOrFind(doc({ idempotency_key: "stale-run", history_id }));
  const { doc: q } = await repo.insertOrFind(doc({ idempotency_key: "stale-queued", history_id }));
  await repo.claim(r._id, "w1", "send", "m1", PAST);
  const later = new Date(Date.now() + 60_000);
  const running = (await repo.stale("running", later, 1000)).filter((d) => d.history_id === history_id);
  const queued = (await repo.stale("queued", later, 1000)).filter((d) => d.history_id === history_id);
  assert.deepEqual([running.map((d) => d._id), queued.map((d) => d._id)], [[r._id], [q._id]]);
  assert.equal((await repo.stale("running", new Date(0), 1000)).filter((d) => d.history_id === history_id).length, 0, "nothing is stale before it was written");
  const redriven = await repo.redrive(running[0]!);
  assert.deepEqual([redriven?.run_msg, redriven?.redrives, redriven?.state], [`${r._id}.d1`, 1, "running"]);
  assert.equal(await repo.redrive(running[0]!), null, "the job as seen changed: a second sweep's re-drive does nothing");
  assert.equal(await repo.heartbeat(r._id, "m1"), false, "the old run lost the claim");
  assert.equal((await repo.claim(r._id, "w2", "send", `${r._id}.d1`, PAST))?.worker, "w2", "the re-driven message claims it");
  await repo.progress(q._id, 0);
  const queuedAgain = (await repo.stale("queued", later, 1000)).find((d) => d._id === q._id)!;
  await repo.claim(q._id, "w3", "send", "m9", PAST);
  assert.equal(await repo.redrive(queuedAgain), null, "a worker claimed it after it was seen: no re-drive");
});

test("upload intents: written only by the claim holder, replaced by the upload's record in one update, and found by key and upload id", async () => {
  const a = (await repo.insertOrFind(doc({ idempotency_key: "intents-a", planned_key: "ik" }))).doc;
  const b = (await repo.insertOrFind(doc({ idempotency_key: "intents-b", planned_key: "ik" }))).doc;
  const since = new Date();
  const mine = { id: "i1", key: "ik", since };
  assert.equal(await repo.setUploadIntents(a._id, "msg-a", [mine]), false, "not claimed: no intent");
  assert.ok(await repo.claim(a._id, "w1", "send", "msg-a", PAST));
  assert.equal(await repo.setUploadIntents(a._id, "other-msg", [mine]), false, "another message's run: no intent");
  assert.equal(await repo.setUploadIntents(a._id, "msg-a", [mine]), true);
  assert.deepEqual((await repo.get(a._id))?.upload_intents, [mine], "dates come back as dates");
  assert.equal(await repo.othersIntend("b", "ik", b._id), true, "a running job intends the key");
  assert.equal(await repo.othersIntend("b", "ik", a._id), false, "not counting the asking job");
  assert.equal(await repo.othersIntend("b", "other-key", b._id), false);
  assert.deepEqual(await repo.recordedUploads(["U1"]), new Set());
  await repo.uploadStarted(a._id, "ik", "U1", []);
  const after = await repo.get(a._id);
  assert.deepEqual([after?.upload, after?.upload_intents], [{ key: "ik", upload_id: "U1" }, []]);
  assert.deepEqual(await repo.recordedUploads(["U1", "U2"]), new Set(["U1"]));
  assert.equal(await repo.othersIntend("b", "ik", b._id), false);
});
