// The get case of the database fault tests (issue 25, case 1): objects are put in a bucket, a get
// of them into a history starts, the test's own FerretDB is killed once the first job has ended,
// kept down for `outageMs`, and started again; then every job must end ok, every history item ok
// with the object's bytes, nothing left queued or running, nothing terminated.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { assertJobsSettled, assertLogsSettled, type FaultWorld } from "./fault-send.ts";
import { api, createS3Bucket, independentS3, sha256, waitForJobs } from "./send.ts";
import { stackAuthzConfig } from "./send-system.ts";

const MiB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs the case; returns how long after the database came back every job was final (ms), and how many were done before the kill. */
export async function getThroughDatabaseOutage(world: FaultWorld, o: { jobs: number; outageMs: number; label: string; whileDown?: () => Promise<void> }): Promise<{ settleMs: number; doneBefore: number }> {
  const { w, ferret, mongo, link, buckets } = world;
  const user = await w.user();
  const authzId = await w.authz(user, "s3", { ...stackAuthzConfig("s3"), endpoint: link.url });
  const bucket = `${o.label}-${randomBytes(4).toString("hex")}`;
  buckets.push(bucket);
  await createS3Bucket(independentS3(), bucket);
  const objects = Array.from({ length: o.jobs }, (_, i) => ({ key: `o${String(i).padStart(2, "0")}.bin`, body: randomBytes(8 * MiB) }));
  for (const obj of objects) await independentS3().send(new PutObjectCommand({ Bucket: bucket, Key: obj.key, Body: obj.body }));
  const digests = new Map(objects.map((obj) => [obj.key, sha256(obj.body)]));
  const hist = await w.history(user, "get");
  const logFrom = w.sys.logs.lines.length;
  const res = await api<Array<{ id: string | null; job_id: string; object: string }>>(w.sys.url, "/api/cloud/storage/get", {
    key: user.apiKey, method: "POST", body: { history_id: hist.id, authz_id: authzId, bucket, objects: objects.map((obj) => obj.key) },
  });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const ids = res.body.map((i) => i.job_id);
  assert.equal(ids.length, o.jobs);

  // Mid-get: once the first job has ended, before the last.
  const jobsCol = mongo.db(w.sys.db).collection("transfer_jobs");
  let finished = 0;
  for (const deadline = Date.now() + 60_000; finished === 0 && Date.now() < deadline; await sleep(20)) {
    finished = await jobsCol.countDocuments({ history_id: hist.id, state: "ok" });
  }
  await ferret.kill();
  assert.ok(finished >= 1 && finished < o.jobs, `the database went away mid-get (${finished} of ${o.jobs} jobs done)`);
  await sleep(o.outageMs);
  await o.whileDown?.();
  await ferret.start();
  const back = performance.now();
  const jobs = await waitForJobs(w.sys.url, user.apiKey, ids, 240_000, 200);
  const settleMs = Math.round(performance.now() - back);
  for (const j of jobs) assert.deepEqual([j.state, j.error], ["ok", null], `job ${j.id}: ${JSON.stringify(j.error)}`);

  // One history item per object, ok, with the object's bytes.
  const items = await api<Array<{ id: string; name: string; state: string; hashes: Array<{ hash_function: string; hash_value: string }> }>>(
    w.sys.url, `/api/histories/${hist.id}/contents?keys=id,name,state,hashes`, { key: user.apiKey },
  );
  assert.deepEqual(items.body.map((i) => i.name).sort(), [...digests.keys()].sort(), "one item per object");
  for (const i of items.body) {
    assert.equal(i.state, "ok", i.name);
    assert.equal(i.hashes.find((h) => h.hash_function === "SHA-256")?.hash_value, digests.get(i.name), i.name);
    const bytes = Buffer.from(await (await fetch(`${w.sys.url}/api/datasets/${i.id}/display`, { headers: { "x-api-key": user.apiKey } })).arrayBuffer());
    assert.equal(sha256(bytes), digests.get(i.name), `${i.name} as displayed`);
  }
  await assertJobsSettled(mongo, w.sys.db, hist.id);
  assertLogsSettled(w.sys.logs.lines.slice(logFrom), { transient: true });
  return { settleMs, doneBefore: finished };
}
