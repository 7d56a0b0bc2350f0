// The send half of the fault tests (issue 25, test/fault): a send of N datasets started and caught
// in its middle, and the assertions every such case makes once the fault is over.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import type { MongoClient } from "mongodb";
import type { SignedIn } from "./auth.ts";
import { api, createS3Bucket, independentS3, type JobView, readS3, s3MultipartUploads, sha256 } from "./send.ts";
import type { SendWorld } from "./send-system.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface SendInFlight {
  bucket: string;
  historyId: string;
  ids: string[];
  /** Object key (the dataset's name) → sha256 of its bytes. */
  digests: Map<string, string>;
  /** Objects committed when `start` returned: at least one, not all. */
  committed: number;
}

/**
 * Creates a bucket (pushed on `buckets` for the test's cleanup) and a history of `jobs` random
 * datasets of `size` bytes (or `size(i)` for the i-th), sends them, and returns once the first
 * object is committed (mid-send).
 */
export async function startSendMidway(w: SendWorld, user: SignedIn, authzId: string, o: { jobs: number; size: number | ((i: number) => number); buckets: string[]; label: string }): Promise<SendInFlight> {
  const bucket = `${o.label}-${randomBytes(4).toString("hex")}`;
  o.buckets.push(bucket);
  await createS3Bucket(independentS3(), bucket);
  const hist = await w.history(user, bucket);
  const files = Array.from({ length: o.jobs }, (_, i) => ({ name: `d${String(i).padStart(2, "0")}.bin`, content: randomBytes(typeof o.size === "number" ? o.size : o.size(i)) }));
  await hist.add(...files);
  const digests = new Map(files.map((f) => [f.name, sha256(f.content)]));
  const res = await api<{ sent: Array<{ job_id: string; object: string }> }>(w.sys.url, "/api/cloud/storage/send", {
    key: user.apiKey, method: "POST", body: { history_id: hist.id, authz_id: authzId, bucket },
  });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.sent.length, o.jobs);
  let committed = 0;
  for (const deadline = Date.now() + 60_000; committed === 0 && Date.now() < deadline; await sleep(20)) {
    committed = (await independentS3().send(new ListObjectsV2Command({ Bucket: bucket }))).KeyCount ?? 0;
  }
  return { bucket, historyId: hist.id, ids: res.body.sent.map((s) => s.job_id), digests, committed };
}

/**
 * What every send case of the fault suite asserts once its jobs are final: every job ok, every
 * object the dataset's bytes under its planned key (none renamed, none twice), no multipart upload
 * left, no job left queued or running; and in `logs` (what the services and workers logged since
 * the send), that a transient failure was handled (unless `transientHandled: false`: a fault the
 * provider SDK's own retries absorb never reaches the job) and no message was terminated.
 */
export async function assertSendSettled(s: SendInFlight, jobs: JobView[], mongo: MongoClient, db: string, logs: string[], o: { transientHandled?: boolean } = {}): Promise<void> {
  for (const j of jobs) assert.deepEqual([j.state, j.error], ["ok", null], `job ${j.id}: ${JSON.stringify(j.error)}`);
  const listed = await independentS3().send(new ListObjectsV2Command({ Bucket: s.bucket }));
  assert.deepEqual((listed.Contents ?? []).map((o) => o.Key).sort(), [...s.digests.keys()].sort(), "one object per dataset, no duplicate");
  for (const j of jobs) assert.equal(sha256((await readS3(independentS3(), s.bucket, j.object_key)).body), s.digests.get(j.object_key), j.object_key);
  assert.deepEqual(await s3MultipartUploads(independentS3(), s.bucket), [], "no multipart upload left behind");
  assert.equal(await mongo.db(db).collection("transfer_jobs").countDocuments({ history_id: s.historyId, state: { $in: ["new", "queued", "running"] } }), 0, "none left queued or running");
  if (o.transientHandled !== false) assert.ok(logs.some((l) => l.includes("will retry") || l.includes("handed back")), "a transient failure was handled");
  assert.deepEqual(logs.filter((l) => l.includes("terminated")), [], "no message terminated");
}
