import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { MongoClient } from "mongodb";
import { Pattern } from "../support/history.ts";
import { type SendWorld, startSendWorld } from "../support/send-system.ts";
import { stackEnv } from "../support/stack-env.ts";
import type { SignedIn } from "../support/auth.ts";
import { api, createS3Bucket, removeS3Buckets, independentS3, readS3, s3MultipartUploads, sha256, spawnWorker, waitForJobs, type WorkerProcess, workerEnv } from "../support/send.ts";

// Crash safety (issue 5), on the real services (the gateway, authz and history in this process,
// the user signed in for real, the dataset uploaded through the history API): two real worker
// processes (`node --import tsx services/transfer/src/server.ts`) share the durable consumer; the
// one running the job is killed with SIGKILL mid-upload; JetStream redelivers after the ack wait and
// the other resumes the multipart upload from the parts recorded in MongoDB. Ten runs in a row;
// each run takes a few seconds.

const RUNS = Number(process.env.SKYFERRY_CRASH_RUNS ?? 10);
const BIG = new Pattern(60 * 1024 * 1024); // 12 parts of 5 MiB
const FAST = { TRANSFER_ACK_WAIT_SECONDS: "2", TRANSFER_PART_SIZE_MB: "5" };

interface JobDoc { _id: string; worker: string | null; upload: { upload_id: string } | null; dataset_id: string; planned_key: string }

describe("a worker killed mid-upload: another resumes from the recorded parts", () => {
  let w: SendWorld;
  let bigSha256: string;
  let mongo: MongoClient;
  const workers: WorkerProcess[] = [];
  const bucket = `crash-${randomBytes(4).toString("hex")}`;
  let user: SignedIn;
  let authzId: string;
  let historyId: string;
  const spawnOne = async () => {
    workers.push(await spawnWorker({ ...workerEnv(w.sys), ...FAST, DATASET_STORE_DIR: w.sys.datasetDir, TRANSFER_CONCURRENCY: "1", TRANSFER_MEMORY_BUDGET_MB: "10" }));
  };

  before(async () => {
    // The in-process transfer service answers send and job requests; only the spawned processes work.
    w = await startSendWorld({ label: "send-crash", transferEnv: { ...FAST, TRANSFER_WORKER_ENABLED: "false" } });
    mongo = await new MongoClient(stackEnv().mongoUrl).connect();
    await createS3Bucket(independentS3(), bucket);
    user = await w.user();
    authzId = await w.authz(user, "s3");
    const hist = await w.history(user, "crash");
    historyId = hist.id;
    await hist.add({ name: "big.bin", content: BIG });
    bigSha256 = (await BIG.digests()).sha256;
    await Promise.all([spawnOne(), spawnOne()]);
  });
  after(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await removeS3Buckets(independentS3(), [bucket]);
    await mongo?.close();
    await w?.close();
  });

  for (let run = 1; run <= RUNS; run++) {
    test(`run ${run}: kill -9 mid-upload; the job ends ok once, resumed, the object is correct, no upload left behind`, async () => {
      const db = mongo.db(w.sys.db);
      const jobs = db.collection<JobDoc>("transfer_jobs");
      const res = await api<{ sent: Array<{ job_id: string }> }>(w.sys.url, "/api/cloud/storage/send", {
        key: user.apiKey, method: "POST", body: { history_id: historyId, authz_id: authzId, bucket, prefix: `run-${run}/` },
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const jobId = res.body.sent[0]!.job_id;
      let victim: WorkerProcess | undefined;
      for (const deadline = Date.now() + 30_000; !victim && Date.now() < deadline; ) {
        const doc = await jobs.findOne({ _id: jobId });
        const parts = doc?.upload ? await db.collection("transfer_parts").countDocuments({ job_id: jobId, upload_id: doc.upload.upload_id }) : 0;
        if (doc?.worker && parts >= 2) victim = workers.find((w) => doc.worker!.includes(`-${w.pid}-`));
        else await new Promise((r) => setTimeout(r, 10));
      }
      assert.ok(victim, "the job was caught mid-upload on one of the workers");
      victim.child.kill("SIGKILL");
      workers.splice(workers.indexOf(victim), 1);
      await spawnOne(); // two workers again for the next run, whatever this one's outcome
      const [job] = await waitForJobs(w.sys.url, user.apiKey, [jobId], 60_000);
      assert.equal(job!.state, "ok", JSON.stringify(job!.error));
      assert.equal(job!.attempts, 2, "one crashed attempt, one resumed attempt");
      const started = workers.flatMap((w) => w.logs).flatMap((l) => {
        try {
          return [JSON.parse(l) as { job_id?: string; msg?: string; resume_parts?: number }];
        } catch {
          return [];
        }
      }).find((l) => l.job_id === jobId && l.msg === "job started");
      assert.ok((started?.resume_parts ?? 0) >= 2, `the survivor resumed from ${started?.resume_parts} recorded parts`);
      assert.equal(sha256((await readS3(independentS3(), bucket, job!.object_key)).body), bigSha256);
      assert.equal(job!.object_key, `run-${run}/big.bin`);
      assert.deepEqual(await s3MultipartUploads(independentS3(), bucket), [], "no multipart upload left behind");
      assert.equal(await jobs.countDocuments({ planned_key: `run-${run}/big.bin` }), 1, "no duplicate job");
    });
  }
});
