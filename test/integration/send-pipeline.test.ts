import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import {
  api, createAzureContainer, createS3Bucket, independentAzure, independentS3, type JobView, readAzure, readS3, removeS3Buckets, s3MultipartUploads, sha256, waitForJobs,
} from "../support/send.ts";
import { type SendWorld, startSendWorld } from "../support/send-system.ts";

// The send pipeline on the real services: users signed in through OpenID Connect, authorizations
// defined through POST /api/cloud/authz (the stack's S3 keys for radosgw, the account key for
// Azurite), datasets uploaded through the history API, jobs run by the transfer service's workers.

interface SendRes { sent_dataset_labels: string[]; failed_dataset_labels: string[]; bucket_name: string; sent: Array<{ job_id: string; object: string }> }
const bucketName = (p: string) => `${p}-${randomBytes(4).toString("hex")}`;

describe("send pipeline: gateway → transfer jobs → workers → radosgw / Azurite", () => {
  let w: SendWorld;
  const created: string[] = [];
  const containers: string[] = [];
  const track = (b: string) => (created.push(b), b);
  before(async () => {
    // aws: authz's STS is radosgw, so an `aws` authorization whose role does not exist is refused for real.
    w = await startSendWorld({ label: "send-pipeline", transferEnv: { TRANSFER_PART_SIZE_MB: "5" }, aws: true });
  });
  after(async () => {
    await removeS3Buckets(independentS3(), created);
    for (const c of containers) await independentAzure().getContainerClient(c).deleteIfExists().catch(() => undefined);
    await w?.close();
  });

  const send = (key: string, body: Record<string, unknown>, query = "") =>
    api<SendRes & { err_msg?: string; err_code?: number }>(w.sys.url, `/api/cloud/storage/send${query}`, { key, method: "POST", body });

  for (const provider of ["s3", "azure"] as const) {
    test(`${provider}: every dataset becomes an object with the same bytes and sha256, labelled as Galaxy does`, async () => {
      const u = await w.user();
      const authzId = await w.authz(u, provider);
      const hist = await w.history(u);
      const files = [["rep1.bed", Buffer.from("chr1\t1\t2\n".repeat(1000))], ["rep 2.bed", randomBytes(11 * 1024 * 1024 + 3)], ["empty", Buffer.alloc(0)]] as const;
      await hist.add(...files.map(([name, content]) => ({ name, content })));
      const bucket = bucketName(`pipe-${provider}`);
      if (provider === "s3") await createS3Bucket(independentS3(), track(bucket));
      else await createAzureContainer(independentAzure(), (containers.push(bucket), bucket));
      const res = await fetch(`${w.sys.url}/api/cloud/storage/send?key=${u.apiKey}`, {
        method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ history_id: hist.id, authz_id: authzId, bucket }),
      });
      assert.equal(res.status, 200);
      const body = (await res.json()) as SendRes;
      assert.deepEqual(body.failed_dataset_labels, []);
      assert.equal(body.bucket_name, bucket);
      const labels = body.sent_dataset_labels.map((l) => JSON.parse(l) as { object: string; job_id: string });
      assert.deepEqual(labels.map((l) => l.object), ["rep1.bed", "rep_2.bed", "empty"]);
      assert.equal(body.sent_dataset_labels[0], `{"object": "rep1.bed", "job_id": "${labels[0]!.job_id}"}`);
      const jobs = await waitForJobs(w.sys.url, u.apiKey, labels.map((l) => l.job_id));
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
    const u = await w.user();
    const authzId = await w.authz(u, "s3");
    const hist = await w.history(u);
    await hist.add({ name: "p.txt", content: Buffer.from("new bytes") });
    const s3 = independentS3();
    const bucket = bucketName("policy");
    await createS3Bucket(s3, track(bucket));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "p.txt", Body: "old" }));
    const run = async (extra: Record<string, unknown>) => {
      const r = await send(u.apiKey, { history_id: hist.id, authz_id: authzId, bucket, idempotency_key: randomBytes(4).toString("hex"), ...extra });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return (await waitForJobs(w.sys.url, u.apiKey, [r.body.sent[0]!.job_id]))[0]!;
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
    const u = await w.user();
    const authzId = await w.authz(u, "s3");
    const hist = await w.history(u);
    await hist.add({ name: "i.txt", content: Buffer.from("x") });
    const bucket = bucketName("idem");
    await createS3Bucket(independentS3(), track(bucket));
    const body = { history_id: hist.id, authz_id: authzId, bucket, idempotency_key: "same-key" };
    const [r1, r2] = await Promise.all([send(u.apiKey, body), send(u.apiKey, body)]);
    assert.equal(r1.status, 200, JSON.stringify(r1.body));
    assert.deepEqual(r2.body.sent, r1.body.sent);
    await waitForJobs(w.sys.url, u.apiKey, [r1.body.sent[0]!.job_id]);
    const r3 = await send(u.apiKey, body);
    assert.deepEqual(r3.body.sent, r1.body.sent);
    assert.equal((await api<JobView[]>(w.sys.url, `/api/jobs?history_id=${hist.id}`, { key: u.apiKey })).body.length, 1);
    const { idempotency_key: _, ...withoutKey } = body;
    const r4 = await send(u.apiKey, withoutKey);
    assert.equal(r4.status, 200, JSON.stringify(r4.body));
    assert.notEqual(r4.body.sent[0]!.job_id, r1.body.sent[0]!.job_id, "without the key: a new job");
    await waitForJobs(w.sys.url, u.apiKey, [r4.body.sent[0]!.job_id]);
    assert.equal((await api<JobView[]>(w.sys.url, `/api/jobs?history_id=${hist.id}`, { key: u.apiKey })).body.length, 2);
  });

  test("fail fast: malformed ids 400, invalid bucket name 400, another user's history or authorization 404, bad API key 401, refused credentials 401", async () => {
    const [u, other] = await Promise.all([w.user(), w.user()]);
    const [authzId, theirAuthz] = await Promise.all([w.authz(u, "s3"), w.authz(other, "s3")]);
    const [hist, theirs] = await Promise.all([w.history(u), w.history(other)]);
    await hist.add({ name: "f.txt", content: Buffer.from("x") });
    await theirs.add({ name: "t.txt", content: Buffer.from("t") });
    const ok = { history_id: hist.id, authz_id: authzId, bucket: "fine-bucket" };
    const malformed = await send(u.apiKey, { ...ok, history_id: "nope" });
    assert.deepEqual([malformed.status, malformed.body.err_code], [400, 400009]);
    assert.match(String(malformed.body.err_msg), /history_id/);
    const badBucket = await send(u.apiKey, { ...ok, bucket: "Bad_Bucket!" });
    assert.deepEqual([badBucket.status, badBucket.body.err_code], [400, 400008]);
    assert.match(String(badBucket.body.err_msg), /bucket/i);
    const azureAuthz = await w.authz(u, "azure");
    const badContainer = await send(u.apiKey, { ...ok, authz_id: azureAuthz, bucket: "a--b" });
    assert.deepEqual([badContainer.status, badContainer.body.err_code], [400, 400008], "Azure's own container rules");
    for (const [what, body] of [["history", { ...ok, history_id: theirs.id }], ["authorization", { ...ok, authz_id: theirAuthz }]] as const) {
      const r = await send(u.apiKey, body);
      assert.deepEqual([r.status, r.body.err_code], [404, 404001], `another user's ${what}: ${JSON.stringify(r.body)}`);
    }
    const badKey = await send("not-a-key", ok);
    assert.deepEqual([badKey.status, badKey.body.err_code], [401, 401001]);
    // A role that does not exist: radosgw's STS refuses, so nothing is queued and the reason is STS's.
    const refusedAuthz = await w.authz(u, "aws", { role_arn: "arn:aws:iam:::role/skyferry-missing-role" });
    const refused = await send(u.apiKey, { ...ok, authz_id: refusedAuthz });
    assert.deepEqual([refused.status, refused.body.err_code], [401, 401001], JSON.stringify(refused.body));
    assert.match(String(refused.body.err_msg), /STS refused/);
    assert.deepEqual((await api<JobView[]>(w.sys.url, `/api/jobs?history_id=${hist.id}`, { key: u.apiKey })).body, [], "no job was queued");
  });
});
