import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import type { SignedIn } from "../support/auth.ts";
import { assertJobsSettled, assertLogsSettled, assertSendSettled, type FaultWorld, faultWorldUnavailable, startFaultWorld, startSendMidway } from "../support/fault-send.ts";
import { type PrivateNats, startPrivateNats } from "../support/private-nats.ts";
import { api, createS3Bucket, independentS3, readS3, s3MultipartUploads, sha256, waitForJobs } from "../support/send.ts";
import { stackAuthzConfig } from "../support/send-system.ts";

// Issue 25, case 2: NATS killed (SIGKILL) and started again 5 s later, mid-send, mid-get, and while
// a send request is being planned. Every service of the test uses a nats-server of the test's own
// (the stack's configuration and trust material, its own ports and JetStream store:
// test/support/private-nats.ts) and a FerretDB of its own; radosgw is behind the 16 MiB/s link, so
// the work lasts seconds and the kill lands in its middle. Every job must end ok, every object
// (history item) byte-identical, none twice, no multipart upload left, none queued or running,
// nothing terminated.

const MiB = 1024 * 1024;
const JOBS = 12;
const OUTAGE_MS = 5000;
const SETTINGS = {
  TRANSFER_SINGLE_PUT_MAX_MB: "8",
  TRANSFER_PART_SIZE_MB: "5",
  TRANSFER_CONCURRENCY: "2",
  // A work message whose ack was lost with the connection comes back after 10 s, not 30 s.
  TRANSFER_ACK_WAIT_SECONDS: "10",
  TRANSFER_RETRY_MAX_DELAY_MS: "2000",
  TRANSFER_HEARTBEAT_SECONDS: "1",
  // A job queued but never published (its send's planning cut off) is re-driven after 20 s.
  TRANSFER_STALE_SECONDS: "20",
  TRANSFER_RECONCILE_SECONDS: "1",
};
const skip = faultWorldUnavailable();
if (skip) console.warn(`\n!!! SKIPPED test/fault/nats-outage.test.ts: ${skip} (it needs the stack's FerretDB on PostgreSQL)\n`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("NATS killed for 5 s mid-send, mid-get and mid-planning: every job ends ok once it is back", { skip: skip ? `SKIPPED: ${skip}` : false }, () => {
  let nats: PrivateNats;
  let world: FaultWorld;
  let user: SignedIn;
  let authzId: string;

  before(async () => {
    nats = await startPrivateNats();
    world = await startFaultWorld("fault-nats", { both: true, nats, transferEnv: SETTINGS });
    user = await world.w.user();
    authzId = await world.w.authz(user, "s3", { ...stackAuthzConfig("s3"), endpoint: world.link.url });
  });
  after(async () => {
    await world?.close();
    await nats?.close();
  });

  /** Kills NATS, keeps it down for the outage, starts it again; the time it is back. */
  const outage = async () => {
    await nats.kill();
    await sleep(OUTAGE_MS);
    await nats.start();
    return performance.now();
  };

  test("mid-send, one-PUT and multipart jobs (6 x 8 MiB, 6 x 12 MiB in 5 MiB parts)", async () => {
    const { w, mongo } = world;
    const logFrom = w.sys.logs.lines.length;
    const s = await startSendMidway(w, user, authzId, { jobs: JOBS, size: (i) => (i % 2 === 0 ? 8 : 12) * MiB, buckets: world.buckets, label: "fault-nats" });
    const back = await outage();
    assert.ok(s.committed >= 1 && s.committed < JOBS, `NATS went away mid-send (${s.committed} of ${JOBS} objects committed)`);
    const jobs = await waitForJobs(w.sys.url, user.apiKey, s.ids, 180_000, 200);
    console.log(`NATS down 5 s mid-send: all ${JOBS} jobs final ${Math.round(performance.now() - back)} ms after it came back (${s.committed} objects committed before the kill)`);
    await assertSendSettled(s, jobs, mongo, w.sys.db);
    assertLogsSettled(w.sys.logs.lines.slice(logFrom), { transient: false });
  });

  test("mid-get, 12 x 8 MiB objects into a history", async () => {
    const { w, mongo, buckets } = world;
    const bucket = `fault-nats-get-${randomBytes(4).toString("hex")}`;
    buckets.push(bucket);
    await createS3Bucket(independentS3(), bucket);
    const objects = Array.from({ length: JOBS }, (_, i) => ({ key: `o${String(i).padStart(2, "0")}.bin`, body: randomBytes(8 * MiB) }));
    for (const o of objects) await independentS3().send(new PutObjectCommand({ Bucket: bucket, Key: o.key, Body: o.body }));
    const digests = new Map(objects.map((o) => [o.key, sha256(o.body)]));
    const hist = await w.history(user, "get");
    const logFrom = w.sys.logs.lines.length;
    const res = await api<Array<{ job_id: string }>>(w.sys.url, "/api/cloud/storage/get", {
      key: user.apiKey, method: "POST", body: { history_id: hist.id, authz_id: authzId, bucket, objects: objects.map((o) => o.key) },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const ids = res.body.map((i) => i.job_id);
    const jobsCol = mongo.db(w.sys.db).collection("transfer_jobs");
    let finished = 0;
    for (const deadline = Date.now() + 60_000; finished === 0 && Date.now() < deadline; await sleep(20)) {
      finished = await jobsCol.countDocuments({ history_id: hist.id, state: "ok" });
    }
    const back = await outage();
    assert.ok(finished >= 1 && finished < JOBS, `NATS went away mid-get (${finished} of ${JOBS} jobs done)`);
    const jobs = await waitForJobs(w.sys.url, user.apiKey, ids, 180_000, 200);
    console.log(`NATS down 5 s mid-get: all ${JOBS} jobs final ${Math.round(performance.now() - back)} ms after it came back (${finished} done before the kill)`);
    for (const j of jobs) assert.deepEqual([j.state, j.error], ["ok", null], `job ${j.id}: ${JSON.stringify(j.error)}`);
    const items = await api<Array<{ id: string; name: string; state: string }>>(w.sys.url, `/api/histories/${hist.id}/contents?keys=id,name,state`, { key: user.apiKey });
    assert.deepEqual(items.body.map((i) => i.name).sort(), [...digests.keys()].sort(), "one item per object");
    for (const i of items.body) {
      assert.equal(i.state, "ok", i.name);
      const bytes = Buffer.from(await (await fetch(`${w.sys.url}/api/datasets/${i.id}/display`, { headers: { "x-api-key": user.apiKey } })).arrayBuffer());
      assert.equal(sha256(bytes), digests.get(i.name), `${i.name} as displayed`);
    }
    await assertJobsSettled(mongo, w.sys.db, hist.id);
    assertLogsSettled(w.sys.logs.lines.slice(logFrom), { transient: false });
  });

  test("while a send of 300 datasets is planned: the jobs it stored end ok though its answer was lost, and the client's retry (same idempotency key) sends the rest, none twice", async () => {
    const { w, mongo, buckets } = world;
    const N = 300;
    const bucket = `fault-nats-plan-${randomBytes(4).toString("hex")}`;
    buckets.push(bucket);
    await createS3Bucket(independentS3(), bucket);
    const hist = await w.history(user, bucket);
    const files = Array.from({ length: N }, (_, i) => ({ name: `p${String(i).padStart(3, "0")}.bin`, content: randomBytes(2048) }));
    for (let at = 0; at < N; at += 100) await hist.add(...files.slice(at, at + 100));
    const digests = new Map(files.map((f) => [f.name, sha256(f.content)]));
    const logFrom = w.sys.logs.lines.length;
    const jobsCol = mongo.db(w.sys.db).collection<{ _id: string; state: string; object_key: string }>("transfer_jobs");
    const body = { history_id: hist.id, authz_id: authzId, bucket, idempotency_key: randomUUID() };

    // NATS is killed as soon as the planner has stored its first jobs: with 3 pages of the history
    // still to read, store and publish, and the answer still to give.
    let answeredAt = 0;
    const post = api(w.sys.url, "/api/cloud/storage/send", { key: user.apiKey, method: "POST", body }).finally(() => (answeredAt = performance.now()));
    let stored = 0;
    for (const deadline = Date.now() + 30_000; stored === 0 && Date.now() < deadline; await sleep(5)) stored = await jobsCol.countDocuments({ history_id: hist.id });
    const killedAt = performance.now();
    const back = await outage();
    const first = await post;
    const storedThen = await jobsCol.countDocuments({ history_id: hist.id });
    assert.equal(first.status, 503, `the planning was cut off (${stored} jobs stored at the kill): ${JSON.stringify(first.body).slice(0, 300)}`);
    // Once the gateway's connection dropped, the send's pages could be lost: it answers then, and
    // does not wait out its 120 s (it did: a reply sent as NATS came back, before the gateway's
    // subscription was made again, was lost).
    assert.ok(answeredAt - killedAt < 10_000, `answered ${Math.round(answeredAt - killedAt)} ms after the kill`);

    // What the cut-off send stored ends ok on its own, published or not (the reconciler re-drives
    // a queued job without a message): nothing is stranded though the client never heard of it.
    const orphaned = await jobsCol.find({ history_id: hist.id }).toArray();
    const settledOnOwn = await waitUntilFinal(w.sys.url, user.apiKey, orphaned.map((j) => j._id));
    console.log(`NATS down 5 s mid-planning: POST answered ${first.status} ${Math.round(answeredAt - killedAt)} ms after the kill; ${storedThen} of ${N} jobs stored, all final ${Math.round(performance.now() - back)} ms after NATS came back`);
    for (const j of settledOnOwn) assert.deepEqual([j.state, j.error], ["ok", null], `job ${j.id}: ${JSON.stringify(j.error)}`);

    // The client sends again with the same idempotency key: every dataset once, the stored jobs reused.
    const again = await api<{ sent: Array<{ job_id: string; object: string }>; failed: unknown[] }>(w.sys.url, "/api/cloud/storage/send", { key: user.apiKey, method: "POST", body });
    assert.equal(again.status, 200, JSON.stringify(again.body).slice(0, 300));
    assert.equal(again.body.sent.length, N);
    assert.deepEqual(again.body.failed, []);
    const ids = again.body.sent.map((x) => x.job_id);
    for (const j of orphaned) assert.ok(ids.includes(j._id), `job ${j._id} of the cut-off send reused`);
    assert.equal(await jobsCol.countDocuments({ history_id: hist.id }), N, "one job per dataset");
    const jobs = await waitForJobs(w.sys.url, user.apiKey, ids, 180_000, 200);
    for (const j of jobs) assert.deepEqual([j.state, j.error], ["ok", null], `job ${j.id}: ${JSON.stringify(j.error)}`);
    const keys: string[] = [];
    for (let token: string | undefined; ; ) {
      const page = await independentS3().send(new ListObjectsV2Command({ Bucket: bucket, ...(token ? { ContinuationToken: token } : {}) }));
      keys.push(...(page.Contents ?? []).map((o) => o.Key!));
      token = page.NextContinuationToken;
      if (!token) break;
    }
    assert.deepEqual(keys.sort(), [...digests.keys()].sort(), "one object per dataset, no duplicate");
    for (const j of jobs.slice(0, 300)) assert.equal(sha256((await readS3(independentS3(), bucket, j.object_key)).body), digests.get(j.object_key), j.object_key);
    assert.deepEqual(await s3MultipartUploads(independentS3(), bucket), []);
    await assertJobsSettled(mongo, w.sys.db, hist.id);
    assertLogsSettled(w.sys.logs.lines.slice(logFrom), { transient: false });
  });
});

/** `waitForJobs`, also through the gateway's answers while its NATS connection is still coming back. */
async function waitUntilFinal(base: string, key: string, ids: string[]) {
  for (const deadline = Date.now() + 60_000; ; await sleep(500)) {
    try {
      return await waitForJobs(base, key, ids, 180_000, 200);
    } catch (err) {
      if (Date.now() > deadline || String(err).includes("not finished after")) throw err;
    }
  }
}
