// The fault tests' world and their send half (issue 25, test/fault): servers of the test's own to
// kill, a send of N datasets started and caught in its middle, and the assertions every case makes
// once the fault is over.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { MongoClient } from "mongodb";
import type { SignedIn } from "./auth.ts";
import type { PrivateNats } from "./private-nats.ts";
import { type PrivateFerretDb, privateFerretDbUnavailable, startPrivateFerretDb } from "./private-ferretdb.ts";
import { api, createS3Bucket, independentS3, type JobView, readS3, removeS3Buckets, s3MultipartUploads, sha256 } from "./send.ts";
import { type SendWorld, startSendWorld } from "./send-system.ts";
import { type SlowLink, startSlowLink } from "./slow-link.ts";
import { stackEnv, stackOutboundAllow } from "./stack-env.ts";

/** The link to radosgw every fault world sends through: a send lasts seconds, so a fault lands in its middle whatever the machine. */
export const LINK_BYTES_PER_SECOND = 16 * 1024 * 1024;

/** Why a fault world cannot be had here (its FerretDB), or undefined; printed loudly by the caller's skip. */
export const faultWorldUnavailable = (): string | undefined => privateFerretDbUnavailable();

/**
 * A fault test's world: the four services in this process on a FerretDB of the test's own (over
 * the stack's PostgreSQL; `ferret` kills and restarts it), radosgw behind a slow link (`both`:
 * slow both ways, for gets), and with `nats` a NATS of the test's own as every service's bus.
 */
export interface FaultWorld {
  ferret: PrivateFerretDb;
  link: SlowLink;
  w: SendWorld;
  /** A client of the world's database (the services' documents are in `w.sys.db`). */
  mongo: MongoClient;
  /** SKYFERRY_OUTBOUND_ALLOW that lets a process reach the stack's servers and the link. */
  allow: string;
  /** Buckets the test made (`startSendMidway` adds its own): emptied and removed on close. */
  buckets: string[];
  close(): Promise<void>;
}

export async function startFaultWorld(label: string, o: { both?: boolean; transferEnv?: Record<string, string>; nats?: PrivateNats } = {}): Promise<FaultWorld> {
  const ferret = await startPrivateFerretDb();
  const link = await startSlowLink(stackEnv().s3.endpoint, LINK_BYTES_PER_SECOND, { both: o.both ?? false });
  const allow = stackOutboundAllow(new URL(link.url).host);
  const w = await startSendWorld({
    label,
    allEnv: { MONGO_URL: ferret.url, ...(o.nats ? { SKYFERRY_NATS_URL: o.nats.url } : {}) },
    authzEnv: { SKYFERRY_OUTBOUND_ALLOW: allow },
    transferEnv: { SKYFERRY_OUTBOUND_ALLOW: allow, ...o.transferEnv },
  });
  const mongo = await new MongoClient(ferret.url).connect();
  const buckets: string[] = [];
  return {
    ferret, link, w, mongo, allow, buckets,
    async close() {
      await removeS3Buckets(independentS3(), buckets);
      await mongo.close();
      await w.close();
      await link.close();
      await ferret.close();
    },
  };
}

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
 * left, and (`assertJobsSettled`) no job left queued or running.
 */
export async function assertSendSettled(s: SendInFlight, jobs: JobView[], mongo: MongoClient, db: string): Promise<void> {
  for (const j of jobs) assert.deepEqual([j.state, j.error], ["ok", null], `job ${j.id}: ${JSON.stringify(j.error)}`);
  const listed = await independentS3().send(new ListObjectsV2Command({ Bucket: s.bucket }));
  assert.deepEqual((listed.Contents ?? []).map((o) => o.Key).sort(), [...s.digests.keys()].sort(), "one object per dataset, no duplicate");
  for (const j of jobs) assert.equal(sha256((await readS3(independentS3(), s.bucket, j.object_key)).body), s.digests.get(j.object_key), j.object_key);
  assert.deepEqual(await s3MultipartUploads(independentS3(), s.bucket), [], "no multipart upload left behind");
  await assertJobsSettled(mongo, db, s.historyId);
}

/** No job of the history is left new, queued or running. */
export async function assertJobsSettled(mongo: MongoClient, db: string, historyId: string): Promise<void> {
  assert.equal(await mongo.db(db).collection("transfer_jobs").countDocuments({ history_id: historyId, state: { $in: ["new", "queued", "running"] } }), 0, "none left queued or running");
}

/**
 * In `logs` (what the services and workers logged since the work began): no message was
 * terminated, and with `transient`, a transient failure was handled (retried or handed back).
 */
export function assertLogsSettled(logs: string[], o: { transient: boolean }): void {
  if (o.transient) assert.ok(logs.some((l) => l.includes("will retry") || l.includes("handed back")), "a transient failure was handled");
  assert.deepEqual(logs.filter((l) => l.includes("terminated")), [], "no message terminated");
}
