import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { HeadObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { connectNats } from "@skyferry/bus";
import { TransferJobsStream } from "@skyferry/contracts";
import { MongoClient } from "mongodb";
import type { NatsConnection } from "nats";
import type { SignedIn } from "../support/auth.ts";
import { CLUSTER_HOST, type NatsCluster, startNatsCluster } from "../support/nats-cluster.ts";
import { api, createS3Bucket, independentS3, readS3, removeS3Buckets, s3MultipartUploads, sha256, spawnWorker, waitForJobs, type WorkerProcess, workerEnv } from "../support/send.ts";
import { type SendWorld, stackAuthzConfig, startSendWorld } from "../support/send-system.ts";
import { type SlowLink, startSlowLink } from "../support/slow-link.ts";
import { stackEnv, stackOutboundAllow } from "../support/stack-env.ts";

// Issue 22, the correctness half of `npm run bench:scale`: a 3-node NATS cluster (TLS, NKeys, the
// shipped permissions) with the work stream and its consumer at 3 replicas, two worker processes,
// and a send of JOBS small datasets to radosgw behind a link that adds a round trip per request
// and limits each connection (so the send lasts long enough to be hit). Mid-send, at counts of
// finished jobs (not at times), one worker is killed with SIGKILL and the node leading the work
// consumer is killed, then started again. Every job ends ok, every object is the dataset's bytes, once,
// written by its own job, and no job was made twice.

const MiB = 1024 * 1024;
const JOBS = 36;
const KILL_WORKER_AT = 6;
const KILL_NODE_AT = 12;
const RESTART_NODE_AT = 20;
// A short ack wait: the killed worker's jobs are handed to the other one 3 s after its last heartbeat.
const ACK_WAIT = { TRANSFER_ACK_WAIT_SECONDS: "3" };
// Fixed ports (a killed node comes back on its own), on the cluster's own loopback address;
// SKYFERRY_TEST_CLUSTER_PORT moves them when two checkouts run this file at once.
const BASE_PORT = Number(process.env.SKYFERRY_TEST_CLUSTER_PORT ?? 47400);
const METRICS_PORT = BASE_PORT + 30;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("a 3-node NATS cluster at 3 replicas: a worker and a node lost mid-send", () => {
  let cluster: NatsCluster;
  let w: SendWorld;
  let link: SlowLink;
  let mongo: MongoClient;
  let nc: NatsConnection;
  let user: SignedIn;
  let authzId: string;
  let allow: string;
  const workers: WorkerProcess[] = [];
  const bucket = `scale-${randomBytes(4).toString("hex")}`;

  before(async () => {
    cluster = await startNatsCluster({ dir: mkdtempSync(join(tmpdir(), "skyferry-scale-test-")), basePort: BASE_PORT });
    link = await startSlowLink(stackEnv().s3.endpoint, 2 * MiB, { perConnection: true, latencyMs: 20 });
    allow = stackOutboundAllow(new URL(link.url).host);
    // The services of this process (gateway, authz, history, the send planner) use the cluster too;
    // the provisioning makes the stream and its consumer at 3 replicas.
    w = await startSendWorld({
      label: "scale-cluster",
      nats: { url: cluster.url, caFile: cluster.caFile },
      authzEnv: { SKYFERRY_OUTBOUND_ALLOW: allow },
      transferEnv: { ...ACK_WAIT, TRANSFER_WORKER_ENABLED: "false", TRANSFER_STREAM_REPLICAS: "3", SKYFERRY_OUTBOUND_ALLOW: allow },
    });
    mongo = await new MongoClient(stackEnv().mongoUrl).connect();
    nc = await connectNats({ url: cluster.url, name: "scale-cluster-test", identity: "operator", credentials: cluster.credentials("operator") });
    for (let i = 0; i < 2; i++) {
      workers.push(await spawnWorker({
        ...workerEnv(w.sys), ...cluster.env(), ...ACK_WAIT, DATASET_STORE_DIR: w.sys.datasetDir, SKYFERRY_OUTBOUND_ALLOW: allow, TRANSFER_CONCURRENCY: "2",
        SKYFERRY_METRICS_HOST: CLUSTER_HOST, SKYFERRY_METRICS_PORT: String(METRICS_PORT + i),
      }));
    }
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
    await cluster?.close();
  });

  test("the work stream and its consumer are kept on all 3 nodes", async () => {
    const jsm = await nc.jetstreamManager();
    const stream = await jsm.streams.info(TransferJobsStream.name(w.sys.namespace));
    assert.equal(stream.config.num_replicas, 3);
    assert.equal(1 + (stream.cluster?.replicas?.length ?? 0), 3, JSON.stringify(stream.cluster));
    const consumer = await jsm.consumers.info(TransferJobsStream.name(w.sys.namespace), "transfer-workers");
    assert.equal(1 + (consumer.cluster?.replicas?.length ?? 0), 3, "the consumer inherits the stream's replicas");
  });

  test("every job ends ok, byte-identical, once, through a worker killed and the consumer's leader node killed and restarted", async (t) => {
    const t0 = Date.now();
    const mark = async (what: string) => t.diagnostic(`${((Date.now() - t0) / 1000).toFixed(1)} s, ${await ended()} of ${JOBS} ended: ${what}`);
    const jobs = mongo.db(w.sys.db).collection<{ _id: string; state: string; history_id: string }>("transfer_jobs");
    const hist = await w.history(user, "scale");
    const files = Array.from({ length: JOBS }, (_, i) => ({ name: `d${String(i).padStart(2, "0")}.bin`, content: randomBytes(MiB / 2 + i * 4096) }));
    await hist.add(...files);
    const digests = new Map(files.map((f) => [f.name, sha256(f.content)]));
    const res = await api<{ sent: Array<{ job_id: string; object: string }> }>(w.sys.url, "/api/cloud/storage/send", {
      key: user.apiKey, method: "POST", body: { history_id: hist.id, authz_id: authzId, bucket },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.sent.length, JOBS);
    const ids = res.body.sent.map((s) => s.job_id);

    const ended = () => jobs.countDocuments({ history_id: hist.id, state: { $in: ["ok", "error", "deleted"] } });
    // A liveness bound, not a speed claim: progress stopping altogether is the failure looked for.
    const reach = async (n: number) => {
      for (const deadline = Date.now() + 180_000; (await ended()) < n; await sleep(50)) {
        if (Date.now() > deadline) throw new Error(`stuck: ${await ended()} of ${JOBS} jobs ended, waiting for ${n}`);
      }
    };
    await reach(KILL_WORKER_AT);
    assert.ok((await ended()) < JOBS, "the worker is killed mid-send");
    workers[0]!.child.kill("SIGKILL");
    await mark("worker 1 killed");
    await reach(KILL_NODE_AT);
    const jsm = await nc.jetstreamManager();
    // The node leading the work consumer: the workers' pull requests wait there.
    const leader = (await jsm.consumers.info(TransferJobsStream.name(w.sys.namespace), "transfer-workers")).cluster?.leader;
    const node = cluster.nodes.find((n) => n.name === leader);
    assert.ok(node, `the consumer's leader (${leader}) is one of the nodes`);
    assert.ok((await ended()) < JOBS, "the node is killed mid-send");
    await node.kill();
    await mark(`node ${node.name} (the consumer's leader) killed`);
    await reach(RESTART_NODE_AT);
    await node.start();
    await mark(`node ${node.name} started again`);

    const final = await waitForJobs(w.sys.url, user.apiKey, ids, 300_000);
    await mark("all ended");
    for (const j of final) assert.deepEqual([j.state, j.error], ["ok", null], `job ${j.id}: ${JSON.stringify(j.error)}`);
    const listed = await independentS3().send(new ListObjectsV2Command({ Bucket: bucket }));
    assert.deepEqual((listed.Contents ?? []).map((o) => o.Key).sort(), [...digests.keys()].sort(), "one object per dataset: none lost, none twice");
    for (const j of final) {
      assert.equal(sha256((await readS3(independentS3(), bucket, j.object_key)).body), digests.get(j.object_key), j.object_key);
      const head = await independentS3().send(new HeadObjectCommand({ Bucket: bucket, Key: j.object_key }));
      // radosgw names metadata with `-` for `_`.
      assert.equal(head.Metadata?.["skyferry-job-id"] ?? head.Metadata?.skyferry_job_id, j.id, `${j.object_key} was written by its own job`);
    }
    assert.deepEqual(await s3MultipartUploads(independentS3(), bucket), [], "no upload left behind");
    assert.equal(await jobs.countDocuments({ history_id: hist.id }), JOBS, "no job made twice");
    assert.equal(await jobs.countDocuments({ history_id: hist.id, state: { $ne: "ok" } }), 0, "none left queued or running");
    assert.equal(workers[0]!.child.signalCode, "SIGKILL");
    // The killed worker held messages (2 jobs at a time, more queued): the other got them again.
    const metrics = await (await fetch(`http://${CLUSTER_HOST}:${METRICS_PORT + 1}/metrics`)).text();
    const redelivered = Number(/^skyferry_transfer_redeliveries_total\{[^}]*direction="send"[^}]*\} (\d+)/m.exec(metrics)?.[1] ?? 0);
    assert.ok(redelivered >= 1, `the killed worker's messages were delivered to the other (redeliveries: ${redelivered})`);
    assert.ok(workers[1]!.logs.some((l) => l.includes('"job ok"')), "the surviving worker ran jobs");
    // The restarted node catches up: the stream is whole on 3 nodes again.
    await cluster.healthy();
    const stream = await jsm.streams.info(TransferJobsStream.name(w.sys.namespace));
    assert.equal(stream.state.messages, 0, "the work queue is empty: every message acknowledged");
  });
});
