import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { after, before, describe, test } from "node:test";
import { MongoClient } from "mongodb";
import type { SignedIn } from "../support/auth.ts";
import { assertLogsSettled, assertSendSettled, startSendMidway } from "../support/fault-send.ts";
import { type FaultProxy, startFaultProxy } from "../support/fault-proxy.ts";
import { api, createAzureContainer, independentAzure, independentS3, readAzure, removeS3Buckets, sha256, waitForJobs } from "../support/send.ts";
import { type SendWorld, stackAuthzConfig, startSendWorld } from "../support/send-system.ts";
import { stackEnv, stackOutboundAllow } from "../support/stack-env.ts";

// Issue 25, case 3, stalls longer than a request may take: the fault proxy holds the first object
// requests' bodies for STALL_MS (far longer than the test waits), and the transfer service's
// TRANSFER_PROVIDER_TIMEOUT_SECONDS (2 here; 120 by default) must cut each one, as a transient
// failure, so that the job is retried and ends ok -- instead of hanging until the stall ends.
// provider-faults.test.ts covers stalls shorter than the timeout (1.5 s: the request waits them out).
// This found that Azure's tryTimeoutInMs only asks the service to give up (its `timeout` URL
// parameter): a stalled connection hung its job for good. The Azure adapter's agents now end a
// connection in use that moves no byte for as long (@skyferry/outbound-policy's guardedAgents).

const MiB = 1024 * 1024;
const STALL_MS = 120_000;
const WAIT_MS = 60_000; // jobs final within this, half the stall: only the timeout can have ended them
const STALLS = 3;
// One-PUT (100 KiB direct, 3 MiB streamed) and multipart (12 MiB in 5 MiB parts).
const SIZES = [100 * 1024, 100 * 1024, 3 * MiB, 3 * MiB, 12 * MiB];
const segments = (req: IncomingMessage) => new URL(req.url ?? "/", "http://x").pathname.split("/").filter(Boolean).length;

describe("provider requests stalled past TRANSFER_PROVIDER_TIMEOUT_SECONDS are cut and retried", () => {
  let s3: FaultProxy;
  let azure: FaultProxy;
  let w: SendWorld;
  let mongo: MongoClient;
  let user: SignedIn;
  const buckets: string[] = [];
  const containers: string[] = [];

  before(async () => {
    const env = stackEnv();
    const stallOnly = { kinds: ["stall"] as const, stallMs: STALL_MS, rate: 0, seed: 25_025 };
    s3 = await startFaultProxy({ ...stallOnly, target: env.s3.endpoint, flavor: "s3", only: (req) => segments(req) >= 2 });
    azure = await startFaultProxy({ ...stallOnly, target: env.azure.endpoint, flavor: "azure", only: (req) => segments(req) >= 3 });
    const allow = stackOutboundAllow(s3.host, azure.host);
    w = await startSendWorld({
      label: "fault-stall",
      authzEnv: { SKYFERRY_OUTBOUND_ALLOW: allow },
      transferEnv: {
        SKYFERRY_OUTBOUND_ALLOW: allow,
        TRANSFER_PROVIDER_TIMEOUT_SECONDS: "2",
        TRANSFER_SINGLE_PUT_MAX_MB: "8",
        TRANSFER_PART_SIZE_MB: "5",
        TRANSFER_CONCURRENCY: "4",
        TRANSFER_RETRY_MAX_DELAY_MS: "2000",
      },
    });
    mongo = await new MongoClient(env.mongoUrl).connect();
    user = await w.user();
  });
  after(async () => {
    await removeS3Buckets(independentS3(), buckets);
    for (const c of containers) await independentAzure().getContainerClient(c).deleteIfExists().catch(() => undefined);
    await mongo?.close();
    await w?.close();
    await s3?.close();
    await azure?.close();
  });

  test("S3: the stalled PUTs and parts time out, are retried, and every object is sent once", async () => {
    const authzId = await w.authz(user, "s3", { ...stackAuthzConfig("s3"), endpoint: s3.url });
    s3.burst(STALLS);
    const t0 = performance.now();
    const logFrom = w.sys.logs.lines.length;
    const s = await startSendMidway(w, user, authzId, { jobs: SIZES.length, size: (i) => SIZES[i]!, buckets, label: "fault-stall" });
    const jobs = await waitForJobs(w.sys.url, user.apiKey, s.ids, WAIT_MS, 200);
    assert.equal(s3.stats().faults.stall, STALLS, "the stalls happened");
    assert.ok(performance.now() - t0 < STALL_MS, "final before any stall ended");
    await assertSendSettled(s, jobs, mongo, w.sys.db);
    assertLogsSettled(w.sys.logs.lines.slice(logFrom), { transient: false });
  });

  test("Azure: the stalled puts and blocks time out, are retried, and every blob is committed once", async () => {
    const authzId = await w.authz(user, "azure", { ...stackAuthzConfig("azure"), endpoint: `${azure.url}${new URL(stackEnv().azure.endpoint).pathname}` });
    const container = `fault-stall-${randomBytes(4).toString("hex")}`;
    containers.push(container);
    await createAzureContainer(independentAzure(), container);
    const hist = await w.history(user, container);
    const files = SIZES.map((size, i) => ({ name: `d${i}.bin`, content: randomBytes(size) }));
    await hist.add(...files);
    azure.burst(STALLS);
    const t0 = performance.now();
    const logFrom = w.sys.logs.lines.length;
    const res = await api<{ sent: Array<{ job_id: string }> }>(w.sys.url, "/api/cloud/storage/send", { key: user.apiKey, method: "POST", body: { history_id: hist.id, authz_id: authzId, bucket: container } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const jobs = await waitForJobs(w.sys.url, user.apiKey, res.body.sent.map((x) => x.job_id), WAIT_MS, 200);
    assert.equal(azure.stats().faults.stall, STALLS, "the stalls happened");
    assert.ok(performance.now() - t0 < STALL_MS, "final before any stall ended");
    for (const j of jobs) assert.deepEqual([j.state, j.error], ["ok", null], `job ${j.id}: ${JSON.stringify(j.error)}`);
    const client = independentAzure().getContainerClient(container);
    const blobs: string[] = [];
    for await (const b of client.listBlobsFlat()) blobs.push(b.name);
    assert.deepEqual(blobs.sort(), files.map((f) => f.name).sort(), "one blob per dataset, no duplicate");
    for (const f of files) {
      assert.equal(sha256((await readAzure(independentAzure(), container, f.name)).body), sha256(f.content), f.name);
      const list = await client.getBlockBlobClient(f.name).getBlockList("uncommitted");
      assert.deepEqual(list.uncommittedBlocks ?? [], [], `${f.name}: no uncommitted block left`);
    }
    assert.equal(await mongo.db(w.sys.db).collection("transfer_jobs").countDocuments({ history_id: hist.id, state: { $in: ["new", "queued", "running"] } }), 0, "none left queued or running");
    assert.deepEqual(w.sys.logs.lines.slice(logFrom).filter((l) => l.includes("terminated")), [], "no message terminated");
  });
});
