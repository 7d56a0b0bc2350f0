import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { createBus, type Bus } from "@skyferry/bus";
import { TransferSend } from "@skyferry/contracts";
import { api, createS3Bucket, independentS3, removeS3Buckets } from "../support/send.ts";
import { type SendWorld, startSendWorld } from "../support/send-system.ts";
import { testBusOptions } from "../support/stack-env.ts";
import { signedActor } from "@skyferry/actor/testing";

// A send whose labels do not fit one NATS message (NATS's default max_payload, 1 MiB): the gateway
// takes the planner's result in pages (transfer.send.v2), and the history's datasets come in pages
// (history.datasets.for-send.v2). No workers run: the jobs stay queued.

type SendRes = { sent_dataset_labels: string[]; failed_dataset_labels: string[]; bucket_name: string; sent: Array<{ job_id: string; hid: number; object: string }> };

describe("a send larger than one NATS message", () => {
  let w: SendWorld;
  let bus: Bus;
  const buckets: string[] = [];
  before(async () => {
    w = await startSendWorld({ label: "send-large", transferEnv: { TRANSFER_WORKER_ENABLED: "false" } });
    bus = await createBus({ ...testBusOptions(), namespace: w.sys.namespace, service: "send-large-test", logger: w.sys.logs.logger("test") });
  });
  after(async () => {
    await removeS3Buckets(independentS3(), buckets);
    await bus?.drain();
    await w?.close();
  });

  test("POST /api/cloud/storage/send answers every label, in hid order; a small send over NATS (v1) still answers in one reply", async () => {
    const user = await w.user();
    const authzId = await w.authz(user, "s3");
    const hist = await w.history(user, "large");
    const [seed] = await hist.add({ name: "seed.bed", content: Buffer.from("chr1\t1\t2\n") });
    const datasets = w.sys.services.history!.deps.mongo!.db.collection<{ _id: string } & Record<string, unknown>>("datasets");
    const template = (await datasets.findOne({ _id: seed!.id }))!;
    const count = 7000; // and the uploaded one: hid 1
    for (let at = 0; at < count; at += 500) {
      await datasets.insertMany(Array.from({ length: 500 }, (_, i) => {
        const hid = at + i + 2;
        const id = (0x2000_0000 + hid).toString(16).padStart(16, "c");
        return { ...template, _id: id, dataset_id: id.replace(/^c/, "e"), hid, name: `sample ${hid}.bed` };
      }));
    }
    // The bucket exists (a send to a missing one is refused before anything is queued); no worker runs.
    const bucket = `large-${randomBytes(4).toString("hex")}`;
    await createS3Bucket(independentS3(), bucket);
    buckets.push(bucket);
    const res = await api<SendRes>(w.sys.url, "/api/cloud/storage/send", { key: user.apiKey, method: "POST", body: { history_id: hist.id, authz_id: authzId, bucket } });
    assert.equal(res.status, 200, JSON.stringify(res.body).slice(0, 300));
    const maxPayload = bus.connection.info?.max_payload ?? 1024 * 1024;
    assert.ok(JSON.stringify(res.body).length > maxPayload, "the result fits one NATS message: the test proves nothing");
    assert.equal(res.body.bucket_name, bucket);
    assert.deepEqual(res.body.sent.map((s) => s.hid), Array.from({ length: count + 1 }, (_, i) => i + 1));
    assert.equal(new Set(res.body.sent.map((s) => s.job_id)).size, count + 1);
    assert.equal(res.body.sent_dataset_labels.length, count + 1);
    assert.equal(res.body.sent_dataset_labels[count], `{"object": "sample_${count + 1}.bed", "job_id": "${res.body.sent[count]!.job_id}"}`);
    assert.deepEqual(res.body.failed_dataset_labels, []);

    // Other systems' requests on transfer.send.v1: one reply, for a send that fits it.
    const small = await bus.request(TransferSend, {
      actor: await signedActor(user.userId, w.sys.namespace), history_id: hist.id, authz_id: authzId, bucket, dataset_ids: [seed!.id, "0123456789abcdef"], idempotency_key: "nats-1",
    }, { timeoutMs: 30_000 });
    assert.deepEqual(small.sent.map((s) => s.hid), [1]);
    assert.equal(small.failed.length, 1);
  });
});
