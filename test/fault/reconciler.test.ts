import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { connectNats } from "@skyferry/bus";
import { TransferJobsStream } from "@skyferry/contracts";
import { MongoClient } from "mongodb";
import type { NatsConnection } from "nats";
import type { SignedIn } from "../support/auth.ts";
import { Pattern } from "../support/history.ts";
import { api, createS3Bucket, independentS3, readS3, removeS3Buckets, s3MultipartUploads, sha256, spawnWorker, waitForJobs, type WorkerProcess, workerEnv } from "../support/send.ts";
import { type SendWorld, stackAuthzConfig, startSendWorld } from "../support/send-system.ts";
import { type SlowLink, startSlowLink } from "../support/slow-link.ts";
import { natsCredentials, stackEnv, stackOutboundAllow } from "../support/stack-env.ts";

// Issue 25: jobs stranded without a live message -- one left `running` by a worker killed
// (SIGKILL) mid-upload, one `queued` -- whose work messages are then lost (the test purges the work
// stream: as a message terminated, out of deliveries, or never published). JetStream has nothing
// to redeliver; the reconciler of the transfer service (in this process, no workers here) finds
// them by their stale heartbeat / last update and re-drives them; a new worker process resumes the
// killed one's upload from its recorded parts. Every job ends ok, every object byte-identical, once.

const MiB = 1024 * 1024;
const BIG = new Pattern(40 * MiB); // 8 parts of 5 MiB, over a 16 MiB/s link: ~2.5 s of upload
const LIVENESS = { TRANSFER_HEARTBEAT_SECONDS: "1", TRANSFER_STALE_SECONDS: "4" };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface JobDoc { _id: string; state: string; redrives?: number; upload: { upload_id: string } | null }

describe("the reconciler re-drives jobs stranded without a message", () => {
  let w: SendWorld;
  let link: SlowLink;
  let mongo: MongoClient;
  let nc: NatsConnection;
  let user: SignedIn;
  let authzId: string;
  let allow: string;
  const workers: WorkerProcess[] = [];
  const bucket = `fault-rec-${randomBytes(4).toString("hex")}`;
  const spawnOne = async () => {
    const p = await spawnWorker({
      ...workerEnv(w.sys), ...LIVENESS, DATASET_STORE_DIR: w.sys.datasetDir, SKYFERRY_OUTBOUND_ALLOW: allow,
      TRANSFER_CONCURRENCY: "1", TRANSFER_PART_SIZE_MB: "5", TRANSFER_MEMORY_BUDGET_MB: "10", TRANSFER_RECONCILE_SECONDS: "0",
    });
    workers.push(p);
    return p;
  };

  before(async () => {
    link = await startSlowLink(stackEnv().s3.endpoint, 16 * MiB);
    allow = stackOutboundAllow(new URL(link.url).host);
    // This process's transfer service answers requests and sweeps every second; it runs no jobs.
    w = await startSendWorld({
      label: "fault-reconcile",
      authzEnv: { SKYFERRY_OUTBOUND_ALLOW: allow },
      transferEnv: { ...LIVENESS, TRANSFER_WORKER_ENABLED: "false", TRANSFER_RECONCILE_SECONDS: "1", SKYFERRY_OUTBOUND_ALLOW: allow },
    });
    mongo = await new MongoClient(stackEnv().mongoUrl).connect();
    nc = await connectNats({ url: stackEnv().natsUrl, name: "fault-reconcile-test", identity: "operator", credentials: natsCredentials("operator") });
    await createS3Bucket(independentS3(), bucket);
    user = await w.user();
    authzId = await w.authz(user, "s3", { ...stackAuthzConfig("s3"), endpoint: link.url });
  });
  after(async () => {
    await Promise.all(workers.map((p) => p.stop()));
    await removeS3Buckets(independentS3(), [bucket]);
    await nc?.close();
    await mongo?.close();
    await w?.close();
    await link?.close();
  });

  test("a job left running by a killed worker and a queued one, both without a message, are re-driven and end ok; the upload resumes from its recorded parts", async () => {
    const jobs = mongo.db(w.sys.db).collection<JobDoc>("transfer_jobs");
    const hist = await w.history(user, "reconcile");
    const later = randomBytes(MiB);
    await hist.add({ name: "big.bin", content: BIG });
    const send = async (ids?: string[]) => {
      const r = await api<{ sent: Array<{ job_id: string }> }>(w.sys.url, "/api/cloud/storage/send", {
        key: user.apiKey, method: "POST", body: { history_id: hist.id, authz_id: authzId, bucket, ...(ids ? { dataset_ids: ids } : {}) },
      });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body.sent.map((s) => s.job_id);
    };
    const first = await spawnOne();
    const [bigJob] = await send();

    // Killed mid-upload, with parts recorded.
    let caught = false;
    for (const deadline = Date.now() + 60_000; !caught && Date.now() < deadline; await sleep(20)) {
      const doc = await jobs.findOne({ _id: bigJob! });
      caught = doc?.state === "running" && doc.upload !== null && (await mongo.db(w.sys.db).collection("transfer_parts").countDocuments({ job_id: bigJob!, upload_id: doc.upload.upload_id })) >= 2;
    }
    assert.ok(caught, "the big job was caught mid-upload");
    first.child.kill("SIGKILL");
    await new Promise((r) => first.child.once("exit", r));

    // A second dataset is sent while no worker runs: queued. Then every work message is lost.
    const [laterDataset] = await hist.add({ name: "later.bin", content: later });
    const [laterJob] = await send([laterDataset!.id]);
    const jsm = await nc.jetstreamManager();
    const purged = await jsm.streams.purge(TransferJobsStream.name(w.sys.namespace));
    assert.ok(purged.purged >= 2, `both work messages were lost (${purged.purged} purged)`);
    assert.deepEqual((await jobs.find({ _id: { $in: [bigJob!, laterJob!] } }).toArray()).map((d) => d.state).sort(), ["queued", "running"]);

    await spawnOne();
    const done = await waitForJobs(w.sys.url, user.apiKey, [bigJob!, laterJob!], 120_000, 200);
    for (const j of done) assert.deepEqual([j.state, j.error], ["ok", null], JSON.stringify(j));
    for (const id of [bigJob!, laterJob!]) assert.ok(((await jobs.findOne({ _id: id }))?.redrives ?? 0) >= 1, `job ${id} was re-driven`);
    assert.ok(w.sys.logs.lines.some((l) => l.includes("stranded job re-driven") && l.includes(bigJob!)), "the reconciler re-drove the running job");

    const started = workers[1]!.logs.flatMap((l) => {
      try {
        return [JSON.parse(l) as { job_id?: string; msg?: string; resume_parts?: number }];
      } catch {
        return [];
      }
    }).find((l) => l.job_id === bigJob && l.msg === "job started");
    assert.ok((started?.resume_parts ?? 0) >= 2, `the new worker resumed from ${started?.resume_parts} recorded parts`);
    assert.equal(sha256((await readS3(independentS3(), bucket, "big.bin")).body), (await BIG.digests()).sha256);
    assert.equal(sha256((await readS3(independentS3(), bucket, "later.bin")).body), sha256(later));
    const listed = await independentS3().send(new ListObjectsV2Command({ Bucket: bucket }));
    assert.deepEqual((listed.Contents ?? []).map((o) => o.Key).sort(), ["big.bin", "later.bin"], "one object each");
    assert.deepEqual(await s3MultipartUploads(independentS3(), bucket), [], "no multipart upload left behind");
  });
});
