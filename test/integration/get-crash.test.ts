import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readdir, stat } from "node:fs/promises";
import { basename, dirname, join, relative } from "node:path";
import { after, before, describe, test } from "node:test";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { type Bus, createBus } from "@skyferry/bus";
import { TransferJobCompleted } from "@skyferry/contracts";
import { MongoClient } from "mongodb";
import { type MockOidc, oidcEnv, type SignedIn, signIn, startOidcProvider } from "../support/auth.ts";
import { call, hashResponse, Pattern } from "../support/history.ts";
import { createS3Bucket, independentS3, removeS3Buckets, spawnWorker, waitForJobs, type WorkerProcess, workerEnv } from "../support/send.ts";
import { stackEnv, testBusOptions } from "../support/stack-env.ts";
import { startSystem, type System } from "../support/system.ts";

// Crash safety of get (issue 6), on the real gateway, authz, history and transfer services: two
// real worker processes (`node --import tsx services/transfer/src/server.ts`) share the durable
// consumer; the one downloading the object into the dataset store is killed with SIGKILL once
// bytes are on disk; JetStream redelivers after the ack wait and the other downloads again. The
// history item must end ok once, with the object's bytes, and nothing partial may stay behind.

const RUNS = Number(process.env.SKYFERRY_CRASH_RUNS ?? 5);
const SIZE = Number(process.env.SKYFERRY_GET_CRASH_MB ?? 128) * 1024 * 1024;
/** Bytes the victim must have written before it is killed (and the object must be larger). */
const KILL_AFTER = 8 * 1024 * 1024;
const FAST = { TRANSFER_ACK_WAIT_SECONDS: "2" };

interface JobDoc { _id: string; state: string; worker: string | null; store_key: string; dataset_id: string }
interface Item { id: string; job_id: string; name: string; state: string }
interface Dataset { id: string; state: string; file_size: number; hashes: Array<{ hash_function: string; hash_value: string }> }

/** Every file below `dir`, as paths relative to it (hidden `.tmp-*` files included). */
async function filesBelow(dir: string, root = dir): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesBelow(p, root)));
    else out.push(relative(root, p));
  }
  return out.sort();
}

const isTemp = (f: string) => basename(f).startsWith(".tmp-");

/** The size of the largest temporary file of the store's write into `dir`, 0 when there is none. */
async function tempBytes(dir: string): Promise<number> {
  const names = await readdir(dir).catch(() => [] as string[]);
  let most = 0;
  for (const n of names.filter((x) => x.startsWith(".tmp-"))) most = Math.max(most, (await stat(join(dir, n)).catch(() => ({ size: 0 }))).size);
  return most;
}

describe("a get worker killed mid-download: another downloads again; the item ends ok once with the object's bytes", () => {
  const pattern = new Pattern(SIZE);
  const bucket = `getcrash-${randomBytes(4).toString("hex")}`;
  const key = "runs/big.bin";
  const stack = stackEnv();
  const s3 = independentS3();
  const workers: WorkerProcess[] = [];
  const allLogs: string[][] = [];
  const completed: string[] = [];
  const okKeys: string[] = [];
  let digest: { sha256: string; md5: string };
  let oidc: MockOidc;
  let sys: System;
  let user: SignedIn;
  let authzId: string;
  let mongo: MongoClient;
  let bus: Bus;
  const api = <T>(path: string, init?: { method?: string; body?: unknown }) => call<T>(sys.url, user.apiKey, path, init);
  const spawnOne = async () => {
    const w = await spawnWorker({ ...workerEnv(sys), ...FAST, DATASET_STORE_DIR: sys.datasetDir, TRANSFER_CONCURRENCY: "1" });
    workers.push(w);
    allLogs.push(w.logs);
  };

  before(async () => {
    oidc = await startOidcProvider();
    // The in-process transfer service answers the get and job requests only; the spawned processes run the jobs.
    sys = await startSystem({ label: "get-crash", env: { authz: oidcEnv(oidc), transfer: { ...FAST, TRANSFER_WORKER_ENABLED: "false" } } });
    user = await signIn(sys);
    const created = await api<{ id: string }>("/api/cloud/authz", {
      method: "POST",
      body: { provider: "s3", config: { endpoint: stack.s3.endpoint, access_key_id: stack.s3.accessKeyId, secret_access_key: stack.s3.secretAccessKey, region: stack.s3.region, force_path_style: true } },
    });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    authzId = created.body.id;
    const chunks: Buffer[] = [];
    for await (const c of pattern.chunks()) chunks.push(c);
    await createS3Bucket(s3, bucket);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: Buffer.concat(chunks), ContentLength: SIZE }));
    digest = await pattern.digests();
    mongo = await new MongoClient(stack.mongoUrl).connect();
    bus = await createBus({ ...testBusOptions(), namespace: sys.namespace, service: "get-crash-test", logger: sys.logs.logger("get-crash-test") });
    bus.on(TransferJobCompleted, TransferJobCompleted.pattern(sys.namespace), ({ job }) => void completed.push(job.id));
    await spawnOne();
    await spawnOne();
  });
  after(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await bus?.drain();
    await removeS3Buckets(s3, [bucket]);
    await mongo?.close();
    await sys?.close();
    await oidc?.close();
  });

  for (let run = 1; run <= RUNS; run++) {
    test(`run ${run}: kill -9 mid-download; the job ends ok after a second attempt, the item is ok once with the object's bytes, no partial dataset`, async () => {
      const jobs = mongo.db(sys.db).collection<JobDoc>("transfer_jobs");
      const history = await api<{ id: string }>("/api/histories", { method: "POST", body: { name: `crash ${run}` } });
      assert.equal(history.status, 200, JSON.stringify(history.body));
      const res = await api<Item[]>("/api/cloud/storage/get", { method: "POST", body: { history_id: history.body.id, authz_id: authzId, bucket, objects: [key] } });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      // Galaxy's answer: an array of the new items, none in error.
      assert.equal(res.body.length, 1);
      const { id: itemId, job_id: jobId } = res.body[0]!;

      // Caught while running, with at least KILL_AFTER bytes in the store's temporary file.
      let victim: WorkerProcess | undefined;
      let onDisk = 0;
      let storeKey = "";
      for (const deadline = Date.now() + 60_000; !victim && Date.now() < deadline; ) {
        const doc = await jobs.findOne({ _id: jobId });
        assert.ok(!doc || doc.state === "queued" || doc.state === "running", `the job ended before it could be interrupted (${doc?.state}): make the object larger`);
        if (doc?.state === "running" && doc.worker) {
          storeKey = doc.store_key;
          onDisk = await tempBytes(dirname(join(sys.datasetDir, doc.store_key)));
          if (onDisk >= KILL_AFTER) victim = workers.find((w) => doc.worker!.includes(`-${w.pid}-`));
        }
        if (!victim) await new Promise((r) => setTimeout(r, 5));
      }
      assert.ok(victim, "the job was caught mid-download on one of the workers");
      victim.child.kill("SIGKILL");
      workers.splice(workers.indexOf(victim), 1);
      assert.ok(onDisk < SIZE, "killed before the download finished");
      const meanwhile = (await api<Dataset>(`/api/datasets/${itemId}`)).body;
      assert.notEqual(meanwhile.state, "ok", "the interrupted download is never shown as an ok dataset");
      await spawnOne(); // two workers again for the next run, whatever this one's outcome

      const [job] = await waitForJobs(sys.url, user.apiKey, [jobId], 90_000);
      assert.equal(job!.state, "ok", JSON.stringify(job!.error));
      assert.ok(job!.attempts >= 2, `one crashed attempt and at least one more (attempts ${job!.attempts})`);
      assert.equal(job!.bytes_done, SIZE);
      assert.equal(job!.checksum.sha256, digest.sha256);

      const item = (await api<Dataset>(`/api/datasets/${itemId}`)).body;
      assert.equal(item.state, "ok");
      assert.equal(item.file_size, SIZE);
      assert.equal(item.hashes.find((h) => h.hash_function === "SHA-256")?.hash_value, digest.sha256);
      assert.equal(item.hashes.find((h) => h.hash_function === "MD5")?.hash_value, digest.md5);
      const shown = await hashResponse(await fetch(`${sys.url}/api/datasets/${itemId}/display`, { headers: { "x-api-key": user.apiKey } }));
      assert.deepEqual(shown, { size: SIZE, ...digest }, "the stored bytes are the object's");
      const contents = (await api<Item[]>(`/api/histories/${history.body.id}/contents`)).body;
      assert.deepEqual(contents.map((i) => [i.id, i.name, i.state]), [[itemId, key, "ok"]], "one item in the history, no duplicate");

      for (let i = 0; i < 50 && !completed.includes(jobId); i++) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 300)); // a second completion would arrive by now
      assert.equal(completed.filter((j) => j === jobId).length, 1, "one completed event");
      const finished = allLogs.flat().filter((l) => l.includes(`"job_id":"${jobId}"`) && l.includes('"msg":"get ok"'));
      assert.equal(finished.length, 1, "one worker finished the download");
      assert.ok(!victim.logs.some((l) => l.includes(`"job_id":"${jobId}"`) && l.includes('"msg":"get ok"')), "not the killed one");

      okKeys.push(storeKey);
      const files = await filesBelow(sys.datasetDir);
      assert.deepEqual(files.filter((f) => !isTemp(f)), [...okKeys].sort(), "no partial dataset under any key: the finished datasets only");
    });
  }

  // Separate from the runs so that a leak is reported once, by name, rather than failing every run.
  test("no temporary file of a killed attempt is left in the dataset store", async () => {
    assert.ok(okKeys.length > 0, "the runs above finished datasets");
    const leftovers = (await filesBelow(sys.datasetDir)).filter(isTemp);
    assert.deepEqual(leftovers, [], `${leftovers.length} partial download(s) of killed attempts stay on disk`);
  });
});
