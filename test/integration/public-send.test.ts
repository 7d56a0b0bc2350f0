// An external NATS publisher (README "Trust": identity `publisher-example`) sends a user's history
// the way docs/trust.md says: on the gateway's public subject, proving the user with their API key's
// hash; it never names a user id. The send is the seed's: jobs run, objects land byte for byte.
import assert from "node:assert/strict";
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { createS3Bucket, independentS3, readS3, removeS3Buckets, waitForJobs } from "../support/send.ts";
import { type SendWorld, startSendWorld } from "../support/send-system.ts";
import { connectAs, trustEnv } from "../security/support.ts";

interface PublicSendReply {
  ok: boolean;
  data?: { sent_dataset_labels: string[]; failed_dataset_labels: string[]; bucket_name: string };
  error?: { code: string; status: number };
}

describe("an external publisher sends a user's history on the public subject", () => {
  let w: SendWorld;
  const buckets: string[] = [];
  before(async () => {
    w = await startSendWorld({ label: "public-send" });
  });
  after(async () => {
    await removeS3Buckets(independentS3(), buckets);
    await w?.close();
  });

  const request = async (body: Record<string, unknown>): Promise<PublicSendReply> => {
    const conn = await connectAs(trustEnv(), "publisher-example");
    assert.ok(conn.nc, `publisher-example connects: ${conn.refused}`);
    try {
      const message = { type: "skyferry.public.transfer.send.request.v1", id: randomUUID(), time: new Date().toISOString(), data: body };
      const reply = await conn.nc.request(`${w.sys.namespace}.rpc.public.transfer.send.v1`, new TextEncoder().encode(JSON.stringify(message)), { timeout: 15_000 });
      return JSON.parse(new TextDecoder().decode(reply.data)) as PublicSendReply;
    } finally {
      await conn.nc.close();
    }
  };

  test("with the user's own key hash: the same answer as HTTP, and every object lands", async () => {
    const u = await w.user();
    const authzId = await w.authz(u, "s3");
    const hist = await w.history(u);
    const files = [
      { name: "rep1.bed", content: Buffer.from("chr1\t100\t200\n".repeat(500)) },
      { name: "rep2.bed", content: randomBytes(300 * 1024) },
    ];
    await hist.add(...files);
    const bucket = `public-${randomBytes(4).toString("hex")}`;
    buckets.push(bucket);
    await createS3Bucket(independentS3(), bucket);
    const reply = await request({ history_id: hist.id, authz_id: authzId, bucket, api_key_sha256: createHash("sha256").update(u.apiKey).digest("hex") });
    assert.equal(reply.ok, true, JSON.stringify(reply.error));
    assert.equal(reply.data!.bucket_name, bucket);
    assert.deepEqual(reply.data!.failed_dataset_labels, []);
    const labels = reply.data!.sent_dataset_labels.map((l) => JSON.parse(l) as { object: string; job_id: string });
    assert.deepEqual(labels.map((l) => l.object).sort(), ["rep1.bed", "rep2.bed"]);
    const jobs = await waitForJobs(w.sys.url, u.apiKey, labels.map((l) => l.job_id));
    for (const job of jobs) assert.equal(job.state, "ok", JSON.stringify(job.error));
    for (const f of files) assert.ok((await readS3(independentS3(), bucket, f.name)).body.equals(f.content), `${f.name} is byte-identical`);
  });

  test("a key hash nobody has is refused (401) and nothing is queued", async () => {
    const u = await w.user();
    const authzId = await w.authz(u, "s3");
    const hist = await w.history(u);
    await hist.add({ name: "x.txt", content: Buffer.from("x") });
    const reply = await request({ history_id: hist.id, authz_id: authzId, bucket: "never-made", api_key_sha256: createHash("sha256").update(randomBytes(32)).digest("hex") });
    assert.equal(reply.ok, false);
    assert.equal(reply.error!.status, 401);
    const listed = (await (await fetch(`${w.sys.url}/api/jobs?key=${u.apiKey}&history_id=${hist.id}`)).json()) as unknown[];
    assert.deepEqual(listed, []);
  });
});
