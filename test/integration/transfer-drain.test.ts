import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { after, before, describe, test } from "node:test";
import { MongoClient } from "mongodb";
import type { SignedIn } from "../support/auth.ts";
import { Pattern } from "../support/history.ts";
import { type SendWorld, stackAuthzConfig, startSendWorld } from "../support/send-system.ts";
import { api, createS3Bucket, independentS3, readS3, removeS3Buckets, s3MultipartUploads, sha256, spawnWorker, waitForJobs, type WorkerProcess, workerEnv } from "../support/send.ts";
import { type SlowLink, startSlowLink } from "../support/slow-link.ts";
import { stackEnv, stackOutboundAllow } from "../support/stack-env.ts";

// TRANSFER_DRAIN_SECONDS on real worker processes (`node --import tsx services/transfer/src/server.ts`)
// sharing the durable consumer, the gateway, authz and history real in this process. Uploads go
// through a slow link in front of radosgw so that they are still running when SIGTERM comes.
// A worker given SIGTERM takes no new job, lets running jobs go on for the drain time, then hands
// back what still runs (nak, 2 s delay): another worker resumes those from their recorded parts at
// once, well before the ack wait (30 s) would have redelivered them.

const MiB = 1024 * 1024;
const LINK_BYTES_PER_SECOND = 6 * MiB;
const ACK_WAIT_SECONDS = 30;
const WORKER = {
  TRANSFER_ACK_WAIT_SECONDS: String(ACK_WAIT_SECONDS),
  TRANSFER_PART_SIZE_MB: "5",
  TRANSFER_PART_CONCURRENCY: "1",
  TRANSFER_SINGLE_PUT_MAX_MB: "0", // every job multipart: parts are recorded, a hand-back resumes them
  TRANSFER_MEMORY_BUDGET_MB: "32", // 3 jobs of (1 + 1) x 5 MiB
  TRANSFER_CONCURRENCY: "3",
};

interface JobDoc { _id: string; worker: string | null; upload: { upload_id: string } | null }
interface LogLine { time?: string; msg?: string; job_id?: string; job_ids?: string[]; resume_parts?: number }

const parse = (lines: string[]): LogLine[] =>
  lines.flatMap((l) => {
    try {
      return [JSON.parse(l) as LogLine];
    } catch {
      return [];
    }
  });

describe("a stopping worker drains, then hands its running jobs back to another worker", () => {
  let w: SendWorld;
  let link: SlowLink;
  let mongo: MongoClient;
  let user: SignedIn;
  let authzId: string;
  const workers: WorkerProcess[] = [];
  const buckets: string[] = [];
  const spawn = async (drainSeconds: number) => {
    const worker = await spawnWorker({ ...workerEnv(w.sys), ...WORKER, DATASET_STORE_DIR: w.sys.datasetDir, TRANSFER_DRAIN_SECONDS: String(drainSeconds), SKYFERRY_OUTBOUND_ALLOW: stackOutboundAllow(new URL(link.url).host) });
    workers.push(worker);
    return worker;
  };
  /** SIGTERM; resolves with the exit code and how long the worker took to exit. */
  const terminate = async (worker: WorkerProcess) => {
    const t0 = Date.now();
    const exited = once(worker.child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
    worker.child.kill("SIGTERM");
    const [code, signal] = await exited;
    return { code, signal, ms: Date.now() - t0, at: Date.now() };
  };
  /** Waits until each job runs on `worker` with at least one part recorded. */
  const caughtRunning = async (worker: WorkerProcess, ids: string[]) => {
    const db = mongo.db(w.sys.db);
    for (const deadline = Date.now() + 30_000; Date.now() < deadline; ) {
      const docs = await db.collection<JobDoc>("transfer_jobs").find({ _id: { $in: ids } }).toArray();
      const counts = await Promise.all(
        docs.map(async (d) => (d.upload && d.worker?.includes(`-${worker.pid}-`) ? db.collection("transfer_parts").countDocuments({ job_id: d._id, upload_id: d.upload.upload_id }) : 0)),
      );
      if (docs.length === ids.length && counts.every((n) => n >= 1)) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.fail(`jobs ${ids.join(", ")} were not all caught running on worker ${worker.pid}`);
  };
  const send = async (bucket: string, datasetIds: string[], historyId: string) => {
    const res = await api<{ sent: Array<{ job_id: string }> }>(w.sys.url, "/api/cloud/storage/send", {
      key: user.apiKey, method: "POST", body: { history_id: historyId, authz_id: authzId, bucket, dataset_ids: datasetIds },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.sent.map((s) => s.job_id);
  };

  before(async () => {
    // The in-process transfer service answers send and job requests; only the spawned processes work.
    link = await startSlowLink(stackEnv().s3.endpoint, LINK_BYTES_PER_SECOND);
    // The slow link is a loopback server the operator allowlists (SKYFERRY_OUTBOUND_ALLOW), like the stack's own.
    const allow = stackOutboundAllow(new URL(link.url).host);
    w = await startSendWorld({ label: "transfer-drain", transferEnv: { TRANSFER_WORKER_ENABLED: "false", SKYFERRY_OUTBOUND_ALLOW: allow }, authzEnv: { SKYFERRY_OUTBOUND_ALLOW: allow } });
    mongo = await new MongoClient(stackEnv().mongoUrl).connect();
    user = await w.user();
    authzId = await w.authz(user, "s3", { ...stackAuthzConfig("s3"), endpoint: link.url });
  });
  after(async () => {
    await Promise.all(workers.map((x) => x.stop()));
    await removeS3Buckets(independentS3(), buckets);
    await link?.close();
    await mongo?.close();
    await w?.close();
  });

  test("drain 1 s: no new job is taken, the 3 running jobs are handed back and finish ok elsewhere, byte-identical", async (t) => {
    const bucket = `drain-${randomBytes(4).toString("hex")}`;
    buckets.push(bucket);
    await createS3Bucket(independentS3(), bucket);
    const hist = await w.history(user, "drain");
    const patterns = [0, 1, 2, 3].map(() => new Pattern(20 * MiB)); // 4 parts each
    const datasets = await hist.add(...patterns.map((content, i) => ({ name: `d${i}.bin`, content })));
    const stopping = await spawn(1);
    const running = await send(bucket, datasets.slice(0, 3).map((d) => d.id), hist.id);
    await caughtRunning(stopping, running);
    // Sent while the worker's 3 slots are taken: it waits in the queue (or in the worker's buffer).
    const [queued] = await send(bucket, [datasets[3]!.id], hist.id);
    const stop = await terminate(stopping);
    assert.equal(stop.code, 0, `a drained worker exits 0 (signal ${stop.signal})\n${stopping.logs.join("\n")}`);
    assert.ok(stop.ms < (1 + 8) * 1000, `exited ${stop.ms} ms after SIGTERM (drain 1 s + at most 8 s)`);
    const stoppingLogs = parse(stopping.logs);
    const handedBack = stoppingLogs.find((l) => l.msg === "drain time over; handing running jobs back");
    assert.deepEqual([...(handedBack?.job_ids ?? [])].sort(), [...running].sort(), "the 3 running jobs were handed back");
    assert.ok(!stoppingLogs.some((l) => l.job_id === queued && l.msg === "job started"), "the stopping worker did not start the queued job");
    assert.ok(!stoppingLogs.some((l) => l.msg === "job ok"), `no job finished on the stopping worker:\n${stopping.logs.join("\n")}`);

    const survivor = await spawn(20);
    const jobs = await waitForJobs(w.sys.url, user.apiKey, [...running, queued!], 90_000);
    for (const job of jobs) assert.equal(job.state, "ok", `${job.id}: ${JSON.stringify(job.error)}`);
    const started = parse(survivor.logs).filter((l) => l.msg === "job started");
    for (const id of running) {
      const job = jobs.find((j) => j.id === id)!;
      assert.equal(job.attempts, 2, "one drained attempt, one resumed attempt");
      const s = started.find((l) => l.job_id === id);
      assert.ok((s?.resume_parts ?? 0) >= 1, `${id} resumed from ${s?.resume_parts} recorded parts`);
    }
    assert.equal(jobs.find((j) => j.id === queued)!.attempts, 1, "the queued job ran once, on the survivor");
    // Handed back with a short nak delay (HAND_BACK_DELAY_MS), not left for the ack wait (30 s after the last heartbeat): the
    // survivor started each of them within seconds of starting itself.
    for (const id of running) {
      const waited = Date.parse(started.find((l) => l.job_id === id)?.time ?? "") - stop.at;
      assert.ok(waited < ACK_WAIT_SECONDS * 1000 - 5_000, `${id} was resumed ${waited} ms after the stopping worker exited`);
    }
    const queuedStart = Date.parse(started.find((l) => l.job_id === queued)?.time ?? "");
    t.diagnostic(`queued job started ${queuedStart - stop.at} ms after the stopping worker exited`);
    for (const [i, job] of jobs.entries()) {
      assert.equal(job.object_key, `d${i}.bin`);
      assert.equal(sha256((await readS3(independentS3(), bucket, job.object_key)).body), (await patterns[i]!.digests()).sha256, `${job.object_key} is byte-identical`);
    }
    assert.deepEqual(await s3MultipartUploads(independentS3(), bucket), [], "no multipart upload left behind");
  });

  test("drain 20 s: a job that ends within the drain time ends normally on the stopping worker, which then exits 0", async () => {
    const bucket = `drain-${randomBytes(4).toString("hex")}`;
    buckets.push(bucket);
    await createS3Bucket(independentS3(), bucket);
    const hist = await w.history(user, "drain-finish");
    const content = new Pattern(10 * MiB); // 2 parts, about 2 s over the slow link
    const [dataset] = await hist.add({ name: "short.bin", content });
    await Promise.all(workers.splice(0).map((x) => x.stop())); // only the worker under test takes the job
    const stopping = await spawn(20);
    const [jobId] = await send(bucket, [dataset!.id], hist.id);
    await caughtRunning(stopping, [jobId!]);
    const stop = await terminate(stopping);
    assert.equal(stop.code, 0, `exit code (signal ${stop.signal})`);
    assert.ok(stop.ms < 20_000, `exited ${stop.ms} ms after SIGTERM, once its job ended`);
    const logs = parse(stopping.logs);
    assert.ok(logs.some((l) => l.job_id === jobId && l.msg === "job ok"), "the job finished on the stopping worker");
    assert.ok(!logs.some((l) => l.msg === "drain time over; handing running jobs back"), "nothing was handed back");
    const [job] = await waitForJobs(w.sys.url, user.apiKey, [jobId!], 10_000);
    assert.equal(job!.state, "ok");
    assert.equal(job!.attempts, 1);
    assert.equal(sha256((await readS3(independentS3(), bucket, job!.object_key)).body), (await content.digests()).sha256);
  });
});
