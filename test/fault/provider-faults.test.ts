import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { after, before, describe, test } from "node:test";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { MongoClient } from "mongodb";
import type { SignedIn } from "../support/auth.ts";
import { assertLogsSettled, assertSendSettled, startSendMidway } from "../support/fault-send.ts";
import { type FaultProxy, startFaultProxy } from "../support/fault-proxy.ts";
import { api, createAzureContainer, createS3Bucket, independentAzure, independentS3, type JobView, readAzure, removeS3Buckets, sha256, waitForJobs } from "../support/send.ts";
import { type SendWorld, stackAuthzConfig, startSendWorld } from "../support/send-system.ts";
import { stackEnv, stackOutboundAllow } from "../support/stack-env.ts";

// Issue 25, case 3: radosgw and Azurite behind a fault proxy of the test's own
// (test/support/fault-proxy.ts) that answers 500, 503 SlowDown / ServerBusy and 429 with the
// provider's error body and Retry-After, resets connections before and in the middle of a body,
// stalls bodies and loses answers -- in a burst at the start of each case and at random after it,
// from a fixed seed (printed; SKYFERRY_FAULT_SEED replays another). Every job must end ok, every
// object byte-identical and once, no multipart upload left, none queued or running, nothing
// terminated. And a permanent fault (403 AccessDenied) ends each job `error` with the provider's
// reason after one request: no retry.

const MiB = 1024 * 1024;
const SEED = Number(process.env.SKYFERRY_FAULT_SEED ?? 25_003);
const RATE = 0.25;
const BURST = 8;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// Object-level requests only: the planner's bucket check answers the user's request itself (a
// fault there is the POST's, not a job's), and the cases are about the jobs.
const segments = (req: IncomingMessage) => new URL(req.url ?? "/", "http://x").pathname.split("/").filter(Boolean).length;
const s3Objects = (req: IncomingMessage) => segments(req) >= 2;
const azureBlobs = (req: IncomingMessage) => segments(req) >= 3;
// One-PUT (100 KiB: the direct PUT; 3 MiB: the streamed PUT) and multipart (12 MiB in 5 MiB parts).
const SEND_SIZES = [...Array<number>(5).fill(100 * 1024), ...Array<number>(5).fill(3 * MiB), ...Array<number>(4).fill(12 * MiB)];

function row(label: string, proxy: FaultProxy, before: ReturnType<FaultProxy["stats"]>, jobs: JobView[], ms: number): void {
  const now = proxy.stats();
  const faults = Object.entries(now.faults).map(([k, n]) => [k, n - before.faults[k as keyof typeof now.faults]] as const).filter(([, n]) => n > 0);
  const ok = jobs.filter((j) => j.state === "ok").length;
  console.log(`| ${label} | seed ${proxy.seed} | ${now.requests - before.requests} requests, faults ${faults.map(([k, n]) => `${k} ${n}`).join(", ")} | ${ok} ok / ${jobs.length - ok} error | all final ${ms} ms after the send |`);
}

describe("provider faults through a fault proxy: every job ends ok", () => {
  let s3: FaultProxy;
  let azure: FaultProxy;
  let w: SendWorld;
  let mongo: MongoClient;
  let user: SignedIn;
  let s3Authz: string;
  const buckets: string[] = [];
  const containers: string[] = [];

  before(async () => {
    console.log(`fault proxy seed ${SEED} (SKYFERRY_FAULT_SEED=${SEED} replays it)`);
    const env = stackEnv();
    s3 = await startFaultProxy({ target: env.s3.endpoint, flavor: "s3", seed: SEED, rate: 0, only: s3Objects, stallMs: 1500 });
    azure = await startFaultProxy({ target: env.azure.endpoint, flavor: "azure", seed: SEED + 1, rate: 0, only: azureBlobs, stallMs: 1500 });
    const allow = stackOutboundAllow(s3.host, azure.host);
    w = await startSendWorld({
      label: "fault-provider",
      authzEnv: { SKYFERRY_OUTBOUND_ALLOW: allow },
      transferEnv: {
        SKYFERRY_OUTBOUND_ALLOW: allow,
        TRANSFER_SINGLE_PUT_MAX_MB: "8",
        TRANSFER_PART_SIZE_MB: "5",
        TRANSFER_CONCURRENCY: "4",
        TRANSFER_RETRY_MAX_DELAY_MS: "2000",
        TRANSFER_HEARTBEAT_SECONDS: "1",
        TRANSFER_STALE_SECONDS: "20",
        TRANSFER_RECONCILE_SECONDS: "1",
      },
    });
    mongo = await new MongoClient(env.mongoUrl).connect();
    user = await w.user();
    s3Authz = await w.authz(user, "s3", { ...stackAuthzConfig("s3"), endpoint: s3.url });
  });
  after(async () => {
    await removeS3Buckets(independentS3(), buckets);
    for (const c of containers) await independentAzure().getContainerClient(c).deleteIfExists().catch(() => undefined);
    await mongo?.close();
    await w?.close();
    await s3?.close();
    await azure?.close();
  });

  test("a send to S3 (one PUT and multipart) through 5xx, SlowDown, 429, resets, stalls and lost answers", async () => {
    const authzId = s3Authz;
    const before = s3.stats();
    s3.burst(BURST);
    s3.setRate(RATE);
    const t0 = performance.now();
    const logFrom = w.sys.logs.lines.length;
    const s = await startSendMidway(w, user, authzId, { jobs: SEND_SIZES.length, size: (i) => SEND_SIZES[i]!, buckets, label: "fault-prov" });
    const jobs = await waitForJobs(w.sys.url, user.apiKey, s.ids, 240_000, 200);
    s3.setRate(0);
    row("S3 send", s3, before, jobs, Math.round(performance.now() - t0));
    await assertSendSettled(s, jobs, mongo, w.sys.db);
    assertLogsSettled(w.sys.logs.lines.slice(logFrom), { transient: true });
  });

  test("a send to Azure (one PUT and block lists) through 5xx, ServerBusy, 429, resets, stalls and lost answers", async () => {
    const authzId = await w.authz(user, "azure", { ...stackAuthzConfig("azure"), endpoint: `${azure.url}${new URL(stackEnv().azure.endpoint).pathname}` });
    const container = `fault-prov-${randomBytes(4).toString("hex")}`;
    containers.push(container);
    await createAzureContainer(independentAzure(), container);
    const hist = await w.history(user, container);
    const files = SEND_SIZES.map((size, i) => ({ name: `d${String(i).padStart(2, "0")}.bin`, content: randomBytes(size) }));
    await hist.add(...files);
    const digests = new Map(files.map((f) => [f.name, sha256(f.content)]));
    const before = azure.stats();
    azure.burst(BURST);
    azure.setRate(RATE);
    const t0 = performance.now();
    const logFrom = w.sys.logs.lines.length;
    const res = await api<{ sent: Array<{ job_id: string }> }>(w.sys.url, "/api/cloud/storage/send", { key: user.apiKey, method: "POST", body: { history_id: hist.id, authz_id: authzId, bucket: container } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const jobs = await waitForJobs(w.sys.url, user.apiKey, res.body.sent.map((x) => x.job_id), 240_000, 200);
    azure.setRate(0);
    row("Azure send", azure, before, jobs, Math.round(performance.now() - t0));

    for (const j of jobs) assert.deepEqual([j.state, j.error], ["ok", null], `job ${j.id}: ${JSON.stringify(j.error)}`);
    const blobs: string[] = [];
    const client = independentAzure().getContainerClient(container);
    for await (const b of client.listBlobsFlat()) blobs.push(b.name);
    assert.deepEqual(blobs.sort(), [...digests.keys()].sort(), "one blob per dataset, no duplicate");
    for (const name of blobs) {
      assert.equal(sha256((await readAzure(independentAzure(), container, name)).body), digests.get(name), name);
      const list = await client.getBlockBlobClient(name).getBlockList("uncommitted");
      assert.deepEqual(list.uncommittedBlocks ?? [], [], `${name}: no uncommitted block left`);
    }
    assert.equal(await mongo.db(w.sys.db).collection("transfer_jobs").countDocuments({ history_id: hist.id, state: { $in: ["new", "queued", "running"] } }), 0, "none left queued or running");
    const lines = w.sys.logs.lines.slice(logFrom);
    assert.deepEqual(lines.filter((l) => l.includes("terminated")), [], "no message terminated");
  });

  test("a get from S3 (streamed and ranged) through resets and stalls mid-download, 5xx and SlowDown", async () => {
    const authzId = s3Authz;
    const bucket = `fault-prov-get-${randomBytes(4).toString("hex")}`;
    buckets.push(bucket);
    await createS3Bucket(independentS3(), bucket);
    const sizes = [...Array<number>(8).fill(3 * MiB), 20 * MiB, 20 * MiB];
    const objects = sizes.map((size, i) => ({ key: `o${String(i).padStart(2, "0")}.bin`, body: randomBytes(size) }));
    for (const o of objects) await independentS3().send(new PutObjectCommand({ Bucket: bucket, Key: o.key, Body: o.body }));
    const digests = new Map(objects.map((o) => [o.key, sha256(o.body)]));
    const hist = await w.history(user, "get");
    const before = s3.stats();
    const logFrom = w.sys.logs.lines.length;
    const t0 = performance.now();
    // The planner's HEADs are the request's, not a job's: the faults start once it has answered.
    const res = await api<Array<{ job_id: string }>>(w.sys.url, "/api/cloud/storage/get", {
      key: user.apiKey, method: "POST", body: { history_id: hist.id, authz_id: authzId, bucket, objects: objects.map((o) => o.key) },
    });
    s3.burst(BURST, "reset-mid");
    s3.setRate(RATE);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const jobs = await waitForJobs(w.sys.url, user.apiKey, res.body.map((i) => i.job_id), 240_000, 200);
    s3.setRate(0);
    row("S3 get", s3, before, jobs, Math.round(performance.now() - t0));
    for (const j of jobs) assert.deepEqual([j.state, j.error], ["ok", null], `job ${j.id}: ${JSON.stringify(j.error)}`);
    const items = await api<Array<{ id: string; name: string; state: string }>>(w.sys.url, `/api/histories/${hist.id}/contents?keys=id,name,state`, { key: user.apiKey });
    assert.deepEqual(items.body.map((i) => i.name).sort(), [...digests.keys()].sort(), "one item per object");
    for (const i of items.body) {
      assert.equal(i.state, "ok", i.name);
      const bytes = Buffer.from(await (await fetch(`${w.sys.url}/api/datasets/${i.id}/display`, { headers: { "x-api-key": user.apiKey } })).arrayBuffer());
      assert.equal(sha256(bytes), digests.get(i.name), `${i.name} as displayed`);
    }
    assert.equal(await mongo.db(w.sys.db).collection("transfer_jobs").countDocuments({ history_id: hist.id, state: { $in: ["new", "queued", "running"] } }), 0, "none left queued or running");
    const lines = w.sys.logs.lines.slice(logFrom);
    assert.deepEqual(lines.filter((l) => l.includes("terminated")), [], "no message terminated");
  });

  test("lost answers to CreateMultipartUpload and CompleteMultipartUpload leave no upload behind and no second object", async () => {
    // The server creates (completes) the upload, the worker hears a 500 instead: twice each, so
    // the SDK's own retries meet it (the third try gets the real answer).
    const before = s3.stats();
    const t0 = performance.now();
    const logFrom = w.sys.logs.lines.length;
    s3.burst(2, "lost-answer", (req) => req.method === "POST" && /[?&]uploads(=|&|$)/.test(req.url ?? ""));
    const created = await startSendMidway(w, user, s3Authz, { jobs: 2, size: 12 * MiB, buckets, label: "fault-prov-lost" });
    const createdJobs = await waitForJobs(w.sys.url, user.apiKey, created.ids, 120_000, 200);
    s3.burst(2, "lost-answer", (req) => req.method === "POST" && /[?&]uploadId=/.test(req.url ?? ""));
    const completed = await startSendMidway(w, user, s3Authz, { jobs: 2, size: 12 * MiB, buckets, label: "fault-prov-lost" });
    const completedJobs = await waitForJobs(w.sys.url, user.apiKey, completed.ids, 120_000, 200);
    row("S3 send, lost multipart answers", s3, before, [...createdJobs, ...completedJobs], Math.round(performance.now() - t0));
    const lost = s3.faulted().slice(-4);
    assert.deepEqual(lost.map((f) => f.replace(/ \/.*\?/, " ?")), ["lost-answer POST ?uploads", "lost-answer POST ?uploads", "lost-answer POST ?uploadId", "lost-answer POST ?uploadId"], lost.join("\n"));
    const logs = w.sys.logs.lines.slice(logFrom);
    // A lost answer is retried by the provider SDK itself: no transient failure reaches the job.
    await assertSendSettled(created, createdJobs, mongo, w.sys.db);
    await assertSendSettled(completed, completedJobs, mongo, w.sys.db);
    assertLogsSettled(logs, { transient: false });
  });

  test("403 AccessDenied on every upload ends each job error with the provider's reason, after one request", async () => {
    const authzId = s3Authz;
    s3.setRate(0);
    s3.setPermanent({ status: 403, code: "AccessDenied", message: "Access Denied" });
    const before = s3.stats();
    const t0 = performance.now();
    const bucket = `fault-prov-403-${randomBytes(4).toString("hex")}`;
    buckets.push(bucket);
    await createS3Bucket(independentS3(), bucket);
    const hist = await w.history(user, bucket);
    // 3 one-PUT jobs (a PUT each) and 2 multipart ones (CreateMultipartUpload first).
    const files = [100 * 1024, 3 * MiB, 3 * MiB, 12 * MiB, 12 * MiB].map((size, i) => ({ name: `d${i}.bin`, content: randomBytes(size) }));
    await hist.add(...files);
    const res = await api<{ sent: Array<{ job_id: string }> }>(w.sys.url, "/api/cloud/storage/send", { key: user.apiKey, method: "POST", body: { history_id: hist.id, authz_id: authzId, bucket } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const jobs = await waitForJobs(w.sys.url, user.apiKey, res.body.sent.map((x) => x.job_id), 120_000, 200);
    // Any retry would come within the retry delay cap: wait past it before counting requests.
    await sleep(3000);
    s3.setPermanent(undefined);
    row("S3 send, 403 AccessDenied", s3, before, jobs, Math.round(performance.now() - t0));
    const seen = jobs.map((j) => ({ size: j.bytes_total, state: j.state, reason: j.error?.provider_reason, attempts: j.attempts }));
    // A multipart job's first request is a HeadObject (create-only): S3 answers a HEAD without a body, so its status is all the reason there is.
    const reason = (size: number) => (size > 8 * MiB ? "HTTP 403" : "AccessDenied");
    assert.deepEqual(seen, files.map((f) => ({ size: f.content.length, state: "error", reason: reason(f.content.length), attempts: 1 })), JSON.stringify(jobs.map((j) => j.error)));
    const stats = s3.stats();
    assert.equal(stats.faults.permanent - before.faults.permanent, files.length, "one request per job answered 403, none retried");
    assert.equal(stats.requests - before.requests, files.length, "no other request reached the provider");
    assert.equal(await mongo.db(w.sys.db).collection("transfer_jobs").countDocuments({ history_id: hist.id, state: { $in: ["new", "queued", "running"] } }), 0, "none left queued or running");
  });
});
