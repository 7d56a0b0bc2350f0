import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { startHarness, type Harness } from "../support/send-harness.ts";
import { api, removeS3Buckets, createS3Bucket, independentS3, type JobView, readS3, s3MultipartUploads, sha256, waitForJobs } from "../support/send.ts";

// Jobs after the send: missing bucket, retry, cancel, Server-Sent Events, ownership, and
// credentials that live shorter than the upload. Authz/history RPCs come from the harness's stand-ins.

const BIG = Buffer.concat(Array.from({ length: 16 }, () => randomBytes(5 * 1024 * 1024))); // 80 MiB, 16 parts

describe("transfer jobs", () => {
  let h: Harness;
  const created: string[] = [];
  const track = (b: string) => (created.push(b), b);
  before(async () => {
    h = await startHarness({ label: "send-jobs", transferEnv: { TRANSFER_PART_SIZE_MB: "5", TRANSFER_MEMORY_BUDGET_MB: "10", TRANSFER_CREDENTIAL_RENEW_SECONDS: "1" } });
  });
  after(async () => {
    await removeS3Buckets(independentS3(), created);
    await h?.close();
  });
  const sendOne = async (key: string, body: Record<string, unknown>) => {
    const r = await api<{ sent: Array<{ job_id: string }> }>(h.url, "/api/cloud/storage/send", { key, method: "POST", body });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body.sent[0]!.job_id;
  };

  test("a missing bucket fails the job with the provider's reason; after the bucket exists, retry sends it", async () => {
    const u = h.user();
    const a = h.authz(u, "s3");
    const hist = h.history(u, "H");
    const data = randomBytes(1000);
    await hist.add("r.bin", data);
    const bucket = `retry-${randomBytes(4).toString("hex")}`;
    const id = await sendOne(u.apiKey, { history_id: hist.id, authz_id: a.id, bucket });
    const [failed] = await waitForJobs(h.url, u.apiKey, [id]);
    assert.equal(failed!.state, "error");
    assert.equal(failed!.error?.provider_reason, "NoSuchBucket");
    const early = await api<{ err_code: number }>(h.url, `/api/jobs/${id}/retry`, { key: h.user().apiKey, method: "POST" });
    assert.equal(early.status, 404, "another user's job");
    await createS3Bucket(independentS3(), track(bucket));
    const retried = await api<JobView>(h.url, `/api/jobs/${id}/retry`, { key: u.apiKey, method: "POST" });
    assert.equal(retried.status, 200);
    assert.equal(retried.body.state, "queued");
    const [ok] = await waitForJobs(h.url, u.apiKey, [id]);
    assert.equal(ok!.state, "ok");
    assert.equal(sha256((await readS3(independentS3(), bucket, "r.bin")).body), sha256(data));
    const again = await api<{ err_code: number }>(h.url, `/api/jobs/${id}/retry`, { key: u.apiKey, method: "POST" });
    assert.equal(again.status, 400, "only a failed job can be retried");
  });

  test("cancel aborts a running upload: state deleted, no object, no multipart upload left", async () => {
    const u = h.user();
    const a = h.authz(u, "s3");
    const hist = h.history(u, "H");
    await hist.add("big.bin", BIG);
    const bucket = `cancel-${randomBytes(4).toString("hex")}`;
    await createS3Bucket(independentS3(), track(bucket));
    const id = await sendOne(u.apiKey, { history_id: hist.id, authz_id: a.id, bucket });
    for (let i = 0; i < 400; i++) {
      const j = await api<JobView>(h.url, `/api/jobs/${id}`, { key: u.apiKey });
      if (j.body.state === "running" && j.body.bytes_done > 0) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    const cancelled = await api<JobView>(h.url, `/api/jobs/${id}`, { key: u.apiKey, method: "DELETE" });
    assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
    assert.equal(cancelled.body.state, "deleted");
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await api<JobView>(h.url, `/api/jobs/${id}`, { key: u.apiKey })).body.state, "deleted");
    assert.deepEqual(await s3MultipartUploads(independentS3(), bucket), []);
    await assert.rejects(readS3(independentS3(), bucket, "big.bin"));
  });

  test("GET /api/jobs/{id}/events streams progress (at most every 500 ms) and the final state", async () => {
    const u = h.user();
    const a = h.authz(u, "s3");
    const hist = h.history(u, "H");
    await hist.add("sse.bin", BIG);
    const bucket = `sse-${randomBytes(4).toString("hex")}`;
    await createS3Bucket(independentS3(), track(bucket));
    const id = await sendOne(u.apiKey, { history_id: hist.id, authz_id: a.id, bucket });
    const res = await fetch(`${h.url}/api/jobs/${id}/events?key=${u.apiKey}`);
    assert.equal(res.headers.get("content-type"), "text/event-stream");
    const text = await res.text();
    const events = text.split("\n\n").filter((b) => b.startsWith("event:")).map((b) => ({ event: /^event: (\w+)/.exec(b)![1]!, data: JSON.parse(/\ndata: (.*)$/s.exec(b)![1]!) as { state: string; bytes_done: number } }));
    assert.equal(events[0]!.event, "state");
    assert.equal(events.at(-1)!.event, "completed");
    assert.equal(events.at(-1)!.data.state, "ok");
    const progress = events.filter((e) => e.event === "progress");
    assert.ok(progress.every((p, i) => i === 0 || p.data.bytes_done >= progress[i - 1]!.data.bytes_done));
    const other = await fetch(`${h.url}/api/jobs/${id}/events?key=${h.user().apiKey}`);
    assert.equal(other.status, 404, "another user's job");
  });

  test("another user's job is 404 everywhere; malformed ids are 400", async () => {
    const u = h.user();
    const other = h.user();
    const a = h.authz(u, "s3");
    const hist = h.history(u, "H");
    await hist.add("o.txt", Buffer.from("o"));
    const id = await sendOne(u.apiKey, { history_id: hist.id, authz_id: a.id, bucket: `own-${randomBytes(4).toString("hex")}` });
    for (const [method, path] of [["GET", `/api/jobs/${id}`], ["DELETE", `/api/jobs/${id}`], ["POST", `/api/jobs/${id}/retry`], ["GET", `/api/jobs/${id}/events`]] as const) {
      const r = await api<{ err_code: number }>(h.url, path, { key: other.apiKey, method });
      assert.equal(r.status, 404, `${method} ${path}`);
      assert.equal(r.body.err_code, 404001);
    }
    assert.deepEqual((await api<JobView[]>(h.url, `/api/jobs?history_id=${hist.id}`, { key: other.apiKey })).body, []);
    assert.equal((await api<{ err_code: number }>(h.url, "/api/jobs/zz", { key: u.apiKey })).body.err_code, 400009);
  });

  test("credentials that live shorter than the upload are renewed and the transfer completes", async () => {
    const u = h.user();
    const a = h.authz(u, "s3", undefined, 2000); // each credential lives 2 s; renewed 1 s before expiry
    const hist = h.history(u, "H");
    const data = Buffer.concat([BIG, BIG, BIG]); // 240 MiB at ~50–100 MB/s: several credential lifetimes
    await hist.add("long.bin", data);
    const bucket = `creds-${randomBytes(4).toString("hex")}`;
    await createS3Bucket(independentS3(), track(bucket));
    const id = await sendOne(u.apiKey, { history_id: hist.id, authz_id: a.id, bucket });
    const [job] = await waitForJobs(h.url, u.apiKey, [id], 180_000);
    assert.equal(job!.state, "ok", JSON.stringify(job!.error));
    const seconds = (Date.parse(String(job!.update_time)) - Date.parse(String(job!.create_time))) / 1000;
    assert.ok(a.issued >= 3, `credentials issued ${a.issued} times over ${seconds} s`);
    assert.equal(sha256((await readS3(independentS3(), bucket, "long.bin")).body), sha256(data));
  });
});
