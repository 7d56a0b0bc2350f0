import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import type { SendableDataset } from "@skyferry/contracts";
import { forbidden, notFound, unauthorized } from "@skyferry/errors";
import type { JobDoc } from "../src/jobs/job-doc.ts";
import { createSendPlanner, type SendPlannerDeps } from "../src/send/planner.ts";
import { fakeJobs } from "./fakes.ts";

const USER = "aaaaaaaaaaaaaaaa";
const HIST = "bbbbbbbbbbbbbbbb";
const AUTHZ = "cccccccccccccccc";
const ds = (hid: number, name: string, extra: Partial<SendableDataset> = {}): SendableDataset => ({
  id: hid.toString(16).padStart(16, "0"), hid, name, extension: "bed", state: "ok", deleted: false, purged: false, file_size: 10,
  hashes: { sha256: "s", md5: "m" }, store_key: `k${hid}`, ...extra,
});

function setup(over: Partial<SendPlannerDeps> = {}, datasets = [ds(1, "rep1.bed"), ds(2, "rep 2.bed")], missing: string[] = []) {
  const jobs = fakeJobs();
  const published: string[] = [];
  const deps: SendPlannerDeps = {
    histories: async function* (actor, id) {
      if (actor.user_id !== USER || id !== HIST) throw notFound("HIST_NOT_FOUND", "History not found.");
      yield { history: { id, name: "H" }, datasets, missing };
    },
    describeAuthz: async (actor, id) => {
      if (actor.user_id !== USER || id !== AUTHZ) throw notFound("AUTHZ_NOT_FOUND", "Authorization not found.");
      return { provider: "s3" };
    },
    issueCredentials: async () => ({ authz_id: AUTHZ, provider: "s3", expires_at: null, credentials: { kind: "s3", region: "r", force_path_style: true, access_key_id: "a", secret_access_key: "s" } }),
    jobs,
    enqueue: async (job: JobDoc, msgId: string) => {
      published.push(msgId);
      assert.equal(msgId, job._id);
    },
    newId: () => randomBytes(8).toString("hex"),
    now: () => new Date("2026-01-01T00:00:00Z"),
    ...over,
  };
  return { send: createSendPlanner(deps), jobs, published };
}
const req = (extra: Record<string, unknown> = {}) => ({ actor: { user_id: USER }, history_id: HIST, authz_id: AUTHZ, bucket: "my-bucket", idempotency_key: "k1", ...extra });

test("one queued job per dataset, labelled as Galaxy does, in hid order", async () => {
  const { send, jobs, published } = setup();
  const res = await send(req());
  assert.equal(res.bucket_name, "my-bucket");
  assert.deepEqual(res.failed_dataset_labels, []);
  assert.deepEqual(res.sent.map((s) => s.object), ["rep1.bed", "rep_2.bed"]);
  assert.equal(res.sent_dataset_labels[0], `{"object": "rep1.bed", "job_id": "${res.sent[0]!.job_id}"}`);
  assert.deepEqual(published.sort(), res.sent.map((s) => s.job_id).sort());
  for (const d of jobs.docs.values()) {
    assert.equal(d.state, "queued");
    assert.equal(d.overwrite_policy, "rename");
  }
});

test("the same idempotency key returns the same jobs and publishes nothing new", async () => {
  const { send, jobs, published } = setup();
  const a = await send(req());
  const b = await send(req());
  assert.deepEqual(b.sent, a.sent);
  assert.equal(jobs.docs.size, 2);
  // Jobs not yet picked up are published again under the same message id (JetStream drops the duplicate).
  assert.equal(new Set(published).size, 2);
  for (const d of jobs.docs.values()) d.attempts = 1;
  const before = published.length;
  await send(req());
  assert.equal(published.length, before, "a job a worker already claimed is not published again");
  const c = await send(req({ idempotency_key: "k2" }));
  assert.notDeepEqual(c.sent.map((s) => s.job_id), a.sent.map((s) => s.job_id));
});

test("a job whose publish failed is published again by a retried request", async () => {
  let fail = true;
  const { send, jobs, published } = setup({
    enqueue: async (_job, msgId) => {
      if (fail) throw new Error("nats down");
      published.push(msgId);
    },
  });
  await assert.rejects(send(req()));
  fail = false;
  const res = await send(req());
  assert.equal(jobs.docs.size, 2);
  assert.deepEqual(published.sort(), res.sent.map((s) => s.job_id).sort());
});

test("ids not in the history and unusable datasets become failed labels", async () => {
  const { send } = setup({}, [ds(1, "a"), ds(2, "gone", { deleted: true }), ds(3, "bad", { state: "error" })], ["ffffffffffffffff"]);
  const res = await send(req({ dataset_ids: ["x"] }));
  assert.deepEqual(res.sent.map((s) => s.object), ["a"]);
  assert.equal(res.failed_dataset_labels.length, 3);
  assert.equal(res.failed_dataset_labels[0], '{"object": "gone", "error": "The dataset is deleted."}');
  assert.match(res.failed_dataset_labels[2]!, /^\{"object": "ffffffffffffffff", "error": "No dataset/);
});

test("another user's history or authorization is 404, checked before anything is queued", async () => {
  const { send, jobs } = setup();
  await assert.rejects(send(req({ actor: { user_id: "eeeeeeeeeeeeeeee" } })), { status: 404 });
  await assert.rejects(send(req({ authz_id: "ffffffffffffffff" })), { status: 404 });
  assert.equal(jobs.docs.size, 0);
});

test("malformed ids, invalid bucket names and failing credentials fail fast", async () => {
  const { send, jobs } = setup();
  await assert.rejects(send(req({ history_id: "nope" })), { status: 400, errCode: 400009 });
  await assert.rejects(send(req({ bucket: "Bad_Bucket" })), { status: 400, field: "bucket" });
  const denied = setup({ issueCredentials: () => Promise.reject(unauthorized("AUTHZ_PROVIDER_REFUSED", "AccessDenied: not authorized")) });
  await assert.rejects(denied.send(req()), { status: 401, message: /AccessDenied/ });
  assert.equal(jobs.docs.size + denied.jobs.docs.size, 0);
});

test("a bucket that does not exist or refuses the credentials is refused before anything is queued", async () => {
  const checked: string[] = [];
  const missing = setup({ checkBucket: async (_a, _id, bucket) => { checked.push(bucket); throw notFound("XFER_BUCKET_NOT_FOUND", `The bucket '${bucket}' does not exist.`); } });
  await assert.rejects(missing.send(req()), { status: 404, message: /does not exist/ });
  const denied = setup({ checkBucket: () => Promise.reject(forbidden("XFER_BUCKET_DENIED", "access denied (SignatureDoesNotMatch)")) });
  await assert.rejects(denied.send(req()), { status: 403, message: /SignatureDoesNotMatch/ });
  assert.deepEqual(checked, ["my-bucket"]);
  assert.equal(missing.jobs.docs.size + denied.jobs.docs.size + missing.published.length + denied.published.length, 0);
  const ok = setup({ checkBucket: async () => undefined });
  assert.equal((await ok.send(req())).sent.length, 2);
});

test("overwrite_existing and overwrite_policy choose the policy; templates shape the key", async () => {
  const { send, jobs } = setup();
  await send(req({ overwrite_existing: true, key_template: "{history_name}/{hid}_{name}", prefix: "p/" }));
  const docs = [...jobs.docs.values()];
  assert.deepEqual(docs.map((d) => d.planned_key).sort(), ["p/H/1_rep1.bed", "p/H/2_rep_2.bed"]);
  assert.ok(docs.every((d) => d.overwrite_policy === "overwrite"));
  await send(req({ overwrite_existing: true, overwrite_policy: "skip", idempotency_key: "k9" }));
  assert.ok([...jobs.docs.values()].some((d) => d.overwrite_policy === "skip"));
});

test("a large send is stored and published a batch at a time: the first jobs are queued before the last are stored, labels stay in hid order", async () => {
  const datasets = Array.from({ length: 250 }, (_, i) => ds(i + 1, `f${i + 1}.bed`));
  const events: string[] = [];
  const { send, jobs } = setup({
    enqueue: async (job) => {
      events.push(`publish ${job.hid}`);
    },
  }, datasets);
  const insert = jobs.insertManyOrFind.bind(jobs);
  jobs.insertManyOrFind = async (docs) => {
    events.push(`store ${docs[0]!.hid}-${docs.at(-1)!.hid}`);
    return insert(docs);
  };
  const res = await send(req());
  assert.deepEqual(res.sent.map((s) => s.hid), datasets.map((d) => d.hid));
  assert.equal(jobs.docs.size, 250);
  assert.deepEqual(events.filter((e) => e.startsWith("store")), ["store 1-100", "store 101-200", "store 201-250"]);
  assert.ok(events.indexOf("publish 1") < events.indexOf("store 201-250"), events.slice(0, 8).join(", "));
  assert.equal(events.filter((e) => e.startsWith("publish")).length, 250);
});

test("the history comes in pages: each page's jobs are stored before the next page is read; labels in hid order; a dataset on two pages is sent once", async () => {
  const events: string[] = [];
  const { send, jobs } = setup({
    histories: async function* () {
      const history = { id: HIST, name: "H" };
      events.push("read 1");
      yield { history, datasets: [ds(4, "d.bed"), ds(5, "e.bed")], missing: [] };
      events.push("read 2");
      yield { history, datasets: [ds(1, "a.bed"), ds(2, "b.bed", { state: "error" }), ds(5, "e.bed")], missing: [] };
      events.push("read 3");
      yield { history, datasets: [ds(3, "c.bed", { deleted: true })], missing: ["ffffffffffffffff"] };
    },
  });
  const insert = jobs.insertManyOrFind.bind(jobs);
  jobs.insertManyOrFind = async (docs) => {
    events.push(`store ${docs.map((d) => d.hid).join(",")}`);
    return insert(docs);
  };
  const res = await send(req());
  assert.deepEqual(events, ["read 1", "store 4,5", "read 2", "store 1", "read 3"]);
  assert.deepEqual(res.sent.map((s) => s.hid), [1, 4, 5]);
  assert.equal(jobs.docs.size, 3);
  assert.deepEqual(res.failed.map((f) => f.object), ["b.bed", "c.bed", "ffffffffffffffff"]);
});

test("a check that fails after the history's pages began stops them; a read failing on a later page fails the send", async () => {
  let stopped = false;
  const pages = async function* () {
    try {
      yield { history: { id: HIST, name: "H" }, datasets: [ds(1, "a.bed")], missing: [] };
      yield { history: { id: HIST, name: "H" }, datasets: [ds(2, "b.bed")], missing: [] };
    } finally {
      stopped = true;
    }
  };
  const { send, jobs } = setup({ histories: pages });
  await assert.rejects(send(req({ authz_id: "ffffffffffffffff" })), { status: 404 });
  assert.equal(stopped, true);
  assert.equal(jobs.docs.size, 0);

  const broken = setup({
    histories: async function* () {
      yield { history: { id: HIST, name: "H" }, datasets: [ds(1, "a.bed")], missing: [] };
      throw notFound("HIST_NOT_FOUND", "History not found.");
    },
  });
  await assert.rejects(broken.send(req()), { status: 404 });
});
