import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { startHarness, type Harness } from "../support/send-harness.ts";
import {
  api, removeS3Buckets, createAzureContainer, createS3Bucket, independentAzure, independentS3, type JobView, readAzure, readS3, s3MultipartUploads, sha256, waitForJobs,
} from "../support/send.ts";

// The send pipeline against the real providers, NATS and MongoDB (authz/history RPCs answered by
// the harness's stand-ins; test/e2e/send-*.test.ts run the same path with the real services).

interface SendRes { sent_dataset_labels: string[]; failed_dataset_labels: string[]; bucket_name: string; sent: Array<{ job_id: string; object: string }> }
const bucketName = (p: string) => `${p}-${randomBytes(4).toString("hex")}`;

describe("send pipeline: gateway → transfer jobs → workers → radosgw / Azurite", () => {
  let h: Harness;
  const created: string[] = [];
  const track = (b: string) => (created.push(b), b);
  before(async () => {
    h = await startHarness({ label: "send-pipeline", transferEnv: { TRANSFER_PART_SIZE_MB: "5" } });
  });
  after(async () => {
    await removeS3Buckets(independentS3(), created);
    await h?.close();
  });

  const send = (key: string, body: Record<string, unknown>, query = "") =>
    api<SendRes & { err_msg?: string; err_code?: number }>(h.url, `/api/cloud/storage/send${query}`, { key, method: "POST", body });

  for (const provider of ["s3", "azure"] as const) {
    test(`${provider}: every dataset becomes an object with the same bytes and sha256, labelled as Galaxy does`, async () => {
      const u = h.user();
      const a = h.authz(u, provider);
      const hist = h.history(u, "Unnamed history");
      const files = [["rep1.bed", Buffer.from("chr1\t1\t2\n".repeat(1000))], ["rep 2.bed", randomBytes(11 * 1024 * 1024 + 3)], ["empty", Buffer.alloc(0)]] as const;
      for (const [n, b] of files) await hist.add(n, b);
      const bucket = bucketName(`pipe-${provider}`);
      if (provider === "s3") await createS3Bucket(independentS3(), track(bucket));
      else await createAzureContainer(independentAzure(), bucket);
      const res = await fetch(`${h.url}/api/cloud/storage/send?key=${u.apiKey}`, {
        method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ history_id: hist.id, authz_id: a.id, bucket }),
      });
      assert.equal(res.status, 200);
      const body = (await res.json()) as SendRes;
      assert.deepEqual(body.failed_dataset_labels, []);
      assert.equal(body.bucket_name, bucket);
      const labels = body.sent_dataset_labels.map((l) => JSON.parse(l) as { object: string; job_id: string });
      assert.deepEqual(labels.map((l) => l.object), ["rep1.bed", "rep_2.bed", "empty"]);
      assert.equal(body.sent_dataset_labels[0], `{"object": "rep1.bed", "job_id": "${labels[0]!.job_id}"}`);
      const jobs = await waitForJobs(h.url, u.apiKey, labels.map((l) => l.job_id));
      for (const [i, job] of jobs.entries()) {
        const data = files[i]![1];
        assert.equal(job.state, "ok", JSON.stringify(job.error));
        assert.equal(job.model_class, "Job");
        assert.equal(job.bytes_done, data.length);
        const got = provider === "s3" ? await readS3(independentS3(), bucket, job.object_key) : await readAzure(independentAzure(), bucket, job.object_key);
        assert.equal(sha256(got.body), sha256(data));
        assert.equal(got.metadata.sha256, sha256(data));
      }
      if (provider === "s3") assert.deepEqual(await s3MultipartUploads(independentS3(), bucket), []);
    });
  }

  test("overwrite policies, decided by the create-only condition: rename, skip, fail, overwrite", async () => {
    const u = h.user();
    const a = h.authz(u, "s3");
    const hist = h.history(u, "H");
    const data = Buffer.from("new bytes");
    await hist.add("p.txt", data);
    const s3 = independentS3();
    const bucket = bucketName("policy");
    await createS3Bucket(s3, track(bucket));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "p.txt", Body: "old" }));
    const run = async (extra: Record<string, unknown>) => {
      const r = await send(u.apiKey, { history_id: hist.id, authz_id: a.id, bucket, idempotency_key: randomBytes(4).toString("hex"), ...extra });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return (await waitForJobs(h.url, u.apiKey, [r.body.sent[0]!.job_id]))[0]!;
    };
    const renamed = await run({});
    assert.equal(renamed.state, "ok");
    assert.match(renamed.object_key, /^p\.txt_\d{6}_\d{6}$/);
    const renamed2 = await run({ overwrite_existing: false });
    assert.notEqual(renamed2.object_key, renamed.object_key, "a second rename in the same second gets a distinct key");
    const skipped = await run({ overwrite_policy: "skip" });
    assert.equal(skipped.state, "ok");
    assert.equal(skipped.outcome, "skipped");
    const failed = await run({ overwrite_policy: "fail" });
    assert.equal(failed.state, "error");
    assert.equal(failed.error?.code, "XFER_OBJECT_EXISTS");
    assert.equal((await readS3(s3, bucket, "p.txt")).body.toString(), "old");
    const replaced = await run({ overwrite_existing: true });
    assert.equal(replaced.state, "ok");
    assert.equal((await readS3(s3, bucket, "p.txt")).body.toString(), "new bytes");
    assert.equal((await readS3(s3, bucket, renamed.object_key)).body.toString(), "new bytes");
  });

  test("the same idempotency key returns the same jobs; a new request without one sends again", async () => {
    const u = h.user();
    const a = h.authz(u, "s3");
    const hist = h.history(u, "H");
    await hist.add("i.txt", Buffer.from("x"));
    const bucket = bucketName("idem");
    await createS3Bucket(independentS3(), track(bucket));
    const body = { history_id: hist.id, authz_id: a.id, bucket, idempotency_key: "same-key" };
    const [r1, r2] = await Promise.all([send(u.apiKey, body), send(u.apiKey, body)]);
    assert.deepEqual(r2.body.sent, r1.body.sent);
    await waitForJobs(h.url, u.apiKey, [r1.body.sent[0]!.job_id]);
    const r3 = await send(u.apiKey, body);
    assert.deepEqual(r3.body.sent, r1.body.sent);
    const list = await api<JobView[]>(h.url, `/api/jobs?history_id=${hist.id}`, { key: u.apiKey });
    assert.equal(list.body.length, 1);
  });

  test("fail fast: malformed ids 400, invalid bucket name 400, another user's history or authorization 404; bad keys 401", async () => {
    const u = h.user();
    const other = h.user();
    const a = h.authz(u, "s3");
    const hist = h.history(u, "H");
    await hist.add("f.txt", Buffer.from("x"));
    const theirs = h.history(other, "T");
    const theirAuthz = h.authz(other, "s3");
    const ok = { history_id: hist.id, authz_id: a.id, bucket: "fine-bucket" };
    assert.equal((await send(u.apiKey, { ...ok, history_id: "nope" })).body.err_code, 400009);
    const badBucket = await send(u.apiKey, { ...ok, bucket: "Bad_Bucket!" });
    assert.equal(badBucket.status, 400);
    assert.equal(badBucket.body.err_code, 400008);
    assert.equal((await send(u.apiKey, { ...ok, history_id: theirs.id })).status, 404);
    assert.equal((await send(u.apiKey, { ...ok, authz_id: theirAuthz.id })).status, 404);
    assert.equal((await send("not-a-key", ok)).status, 401);
  });
});
