import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { HeadObjectCommand, ListMultipartUploadsCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { bodyOf, failingBody, readAll, rejectsWith, sha256Hex, slowBody, testBytes, uniqueBucket } from "@skyferry/storage/contract-suite";
import { createS3Store, multipartEtag } from "../src/index.ts";
import { adminClient, createBucket, deleteBucket, rgwOptions } from "./support.ts";

const P = 5 * 1024 * 1024;

describe("S3 adapter on radosgw: create-only, claims, resume, progress, abort", () => {
  const admin = adminClient();
  const store = createS3Store(rgwOptions());
  const bucket = uniqueBucket("sf-s3");
  before(() => createBucket(admin, bucket));
  after(async () => {
    await deleteBucket(admin, bucket);
    await store.close();
    admin.destroy();
  });
  const pendingUploads = async (key: string): Promise<number> =>
    ((await admin.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: key }))).Uploads ?? []).filter((u) => u.Key === key).length;

  test("radosgw ignores If-None-Match on CompleteMultipartUpload, which is why the default is the claim", async () => {
    const native = createS3Store({ ...rgwOptions(), createOnlyMultipart: "native" });
    after(() => native.close());
    const a = testBytes(1000);
    const b = testBytes(P + 2);
    let started!: () => void;
    const uploadStarted = new Promise<void>((resolve) => (started = resolve));
    // B passes the early existence check, then A is written before B completes.
    const putB = native.put({ bucket, key: "native", body: slowBody(b, P, 500), size: b.length, sha256: sha256Hex(b), partSize: P, ifNoneMatch: true, onUploadStarted: () => started() });
    await uploadStarted;
    await store.put({ bucket, key: "native", body: bodyOf(a), size: a.length });
    // If this starts failing with ALREADY_EXISTS, radosgw gained conditional completes: prefer "native".
    await putB;
    assert.equal((await store.head(bucket, "native"))?.size, b.length, "the completion replaced the object A wrote");
  });

  test("two concurrent create-only multipart puts of one key: exactly one wins, no upload is left behind", async () => {
    const datas = [testBytes(2 * P + 1), testBytes(2 * P + 2)];
    const results = await Promise.allSettled(
      datas.map((d) => store.put({ bucket, key: "race", body: slowBody(d, P, 100), size: d.length, sha256: sha256Hex(d), partSize: P, ifNoneMatch: true })),
    );
    const won = results.findIndex((r) => r.status === "fulfilled");
    const lost = results.find((r) => r.status === "rejected");
    assert.ok(won >= 0 && lost, results.map((r) => r.status).join(","));
    await rejectsWith(() => Promise.reject(lost.reason), "ALREADY_EXISTS");
    const got = await readAll((await store.get(bucket, "race")).body);
    assert.ok(got.equals(datas[won]!));
    assert.equal(await pendingUploads("race"), 0);
  });

  test("a claim left by a crashed attempt is recognised on resume and removed by abort", async () => {
    for (const finish of ["resume", "abort"] as const) {
      const key = `claimed-${finish}`;
      const data = testBytes(2 * P + 9);
      let uploadId = "";
      const common = { bucket, key, size: data.length, sha256: sha256Hex(data), partSize: P, ifNoneMatch: true };
      await rejectsWith(() => store.put({ ...common, body: failingBody(data, P), onUploadStarted: (id) => void (uploadId = id) }), "SOURCE");
      // The crash happened after the claim was written and before the completion.
      await admin.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: Buffer.alloc(0), ContentLength: 0, Metadata: { "skyferry-claim": uploadId } }));
      if (finish === "resume") {
        await store.put({ ...common, body: bodyOf(data), resume: { uploadId, parts: [] } });
        assert.ok((await readAll((await store.get(bucket, key)).body)).equals(data));
      } else {
        await store.abort(bucket, key, uploadId);
        assert.equal(await store.head(bucket, key), null);
      }
      assert.equal(await pendingUploads(key), 0);
    }
  });

  test("resuming an upload that no longer exists starts a new one and announces it", async () => {
    const data = testBytes(2 * P + 3);
    let first = "";
    const common = { bucket, key: "restart", size: data.length, sha256: sha256Hex(data), partSize: P };
    await rejectsWith(() => store.put({ ...common, body: failingBody(data, P), onUploadStarted: (id) => void (first = id) }), "SOURCE");
    await store.abort(bucket, "restart", first);
    const started: string[] = [];
    const r = await store.put({ ...common, body: bodyOf(data), resume: { uploadId: first, parts: [] }, onUploadStarted: (id) => void started.push(id) });
    assert.equal(started.length, 1);
    assert.notEqual(started[0], first);
    assert.equal(r.partsUploaded, 3);
  });

  test("the committed ETag is md5(part md5s)-N as computed locally, and progress reaches the size", async () => {
    const data = testBytes(3 * P + 100);
    const progress: number[] = [];
    const r = await store.put({ bucket, key: "etag", body: bodyOf(data), size: data.length, sha256: sha256Hex(data), partSize: P, onProgress: (n) => progress.push(n) });
    const md5s = [0, 1, 2, 3].map((i) => createHash("md5").update(data.subarray(i * P, (i + 1) * P)).digest());
    const head = await admin.send(new HeadObjectCommand({ Bucket: bucket, Key: "etag" }));
    assert.equal(head.ETag, `"${multipartEtag(md5s)}"`);
    assert.equal(r.etag, multipartEtag(md5s));
    assert.equal(head.Metadata?.sha256, sha256Hex(data));
    assert.deepEqual(progress, [...progress].sort((a, b) => a - b));
    assert.equal(progress.at(-1), data.length);
  });

  test("an aborted signal stops the upload with ABORTED and leaves it for resume", async () => {
    const data = testBytes(3 * P);
    const ac = new AbortController();
    let uploadId = "";
    const common = { bucket, key: "signal", size: data.length, sha256: sha256Hex(data), partSize: P, concurrency: 1 };
    await rejectsWith(
      () => store.put({ ...common, body: slowBody(data, P, 300), signal: ac.signal, onUploadStarted: (id) => void (uploadId = id), onPartDone: () => ac.abort() }),
      "ABORTED",
    );
    assert.equal(await pendingUploads("signal"), 1);
    const r = await store.put({ ...common, body: bodyOf(data), resume: { uploadId, parts: [] } });
    assert.ok(r.partsUploaded < 3, `resumed (${r.partsUploaded} parts sent)`);
  });
});
