import assert from "node:assert/strict";
import { test } from "node:test";
import { MongoNetworkError } from "mongodb";
import type { UploadIntent } from "../src/jobs/job-doc.ts";
import { PROVIDER_CLOCK_SKEW_MS, settleUploadIntents } from "../src/worker/upload-intents.ts";
import { fakeJobs, fakeStore } from "./fakes.ts";
import { job, setup } from "./runner-setup.ts";

// Write-ahead of multipart uploads (issue 25): an upload is started at the provider only once its
// intent is on the job, and an intent left there (its worker died before recording the upload's
// id) leads a later attempt to the upload, which it aborts.

/** Multipart for the runner: every dataset above 16 bytes. */
const multipart = { upload: { partSize: 16, singlePutMax: 16 } };
const intent = (key: string, agoMs = 1000): UploadIntent => ({ id: `i-${key}-${agoMs}`, key, since: new Date(Date.now() - agoMs) });

test("an upload a killed worker started but never recorded is found through its intent by the next attempt and aborted; the job ends ok, its intents gone", async () => {
  const store = fakeStore();
  const old = new Date(Date.now() - 3_600_000);
  // As a worker killed between CreateMultipartUpload and recording its id leaves the job.
  const t = setup(store, job({ state: "running", run_msg: "old-msg", heartbeat_at: old, upload_intents: [intent("rep1.bed")] }), undefined, multipart);
  store.pending.set("orphan", { key: "rep1.bed", uploadId: "orphan", started: new Date() });
  // Not this job's orphan: another job records it; and one started long before the intent.
  const other = job({ _id: "9999999999999999", dedupe_key: "other", state: "queued", upload: { key: "rep1.bed", upload_id: "theirs" } });
  t.jobs.docs.set(other._id, other);
  store.pending.set("theirs", { key: "rep1.bed", uploadId: "theirs", started: new Date() });
  store.pending.set("older", { key: "rep1.bed", uploadId: "older", started: new Date(Date.now() - 1000 - PROVIDER_CLOCK_SKEW_MS - 60_000) });

  await t.run();
  assert.equal(t.doc().state, "ok");
  assert.deepEqual(store.aborted, ["rep1.bed:orphan"], "only the unrecorded upload started since the intent");
  assert.deepEqual([...store.pending.keys()].sort(), ["older", "theirs"]);
  assert.deepEqual(t.doc().upload_intents, [], "settled, and this attempt's own intent removed when its upload was recorded");
});

test("an upload is started only once its intent is recorded: a database that cannot take the intent stops the put before the provider is asked", async () => {
  const store = fakeStore();
  const t = setup(store, job(), undefined, multipart);
  let written: UploadIntent[] | undefined;
  t.jobs.setUploadIntents = async () => {
    throw new MongoNetworkError("connection refused");
  };
  t.jobs.uploadStarted = async (_id, _key, _uploadId, intents) => void (written = intents);
  const out = await t.run();
  assert.ok(out && "retryAfterMs" in out, "transient: handed back");
  assert.equal(t.doc().state, "queued");
  assert.equal(store.pending.size, 0, "no upload started");
  assert.equal(written, undefined, "nothing recorded");
});

test("a run whose claim went to another message starts no upload: its intent is refused and it stops", async () => {
  const store = fakeStore();
  const t = setup(store, job(), undefined, multipart);
  t.jobs.setUploadIntents = async () => false;
  await t.run();
  assert.equal(store.pending.size, 0);
  assert.equal(store.objects.size, 0);
});

test("an unrecorded upload of a key another running job intends is left alone (it may be that job's, not yet recorded), the intent kept for later", async () => {
  const jobs = fakeJobs();
  const store = fakeStore();
  const mine = job({ state: "running", upload_intents: [intent("k"), intent("free")] });
  jobs.docs.set(mine._id, mine);
  const theirs = job({ _id: "9999999999999999", dedupe_key: "other", state: "running", upload_intents: [intent("k", 10)] });
  jobs.docs.set(theirs._id, theirs);
  store.pending.set("u1", { key: "k", uploadId: "u1", started: new Date() });
  store.pending.set("u2", { key: "free", uploadId: "u2", started: new Date() });
  store.pending.set("u3", { key: "free/longer", uploadId: "u3", started: new Date() });
  const r = await settleUploadIntents(mine, mine.upload_intents!, store, jobs);
  assert.deepEqual(r.aborted, ["u2"]);
  assert.deepEqual(r.kept.map((i) => i.key), ["k"]);
  assert.deepEqual(r.settled.map((i) => i.key), ["free"]);
  // Once the other job no longer runs, the same key's upload is nobody's.
  theirs.state = "ok";
  const again = await settleUploadIntents(mine, r.kept, store, jobs);
  assert.deepEqual(again.aborted, ["u1"]);
  assert.deepEqual([...store.pending.keys()], ["u3"]);
});
