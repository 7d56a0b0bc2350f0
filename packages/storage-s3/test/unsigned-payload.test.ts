import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { bodyOf, failingBody, md5Hex, readAll, rejectsWith, sha256Hex, testBytes, uniqueBucket } from "@skyferry/storage/contract-suite";
import { createS3Client } from "../src/client.ts";
import { createS3Store } from "../src/index.ts";
import { adminClient, createBucket, deleteBucket, rgwOptions } from "./support.ts";

// A body with Content-MD5 is sent as UNSIGNED-PAYLOAD (src/client.ts): these tests show on radosgw
// that the server still checks every byte against the MD5, so integrity does not rest on the
// SigV4 payload hash that is no longer computed.
describe("S3 client: UNSIGNED-PAYLOAD only beside Content-MD5, and the server still checks the bytes", () => {
  const admin = adminClient();
  const client = createS3Client(rgwOptions());
  const sent: Array<{ op: string; payload: string | undefined }> = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const headers = (args.request as { headers?: Record<string, string> }).headers ?? {};
      sent.push({ op: String(context.commandName), payload: headers["x-amz-content-sha256"] });
      return next(args);
    },
    { step: "finalizeRequest", name: "testRecordPayloadHeader" },
  );
  const bucket = uniqueBucket("sf-unsigned");
  before(() => createBucket(admin, bucket));
  after(async () => {
    await deleteBucket(admin, bucket);
    client.destroy();
    admin.destroy();
  });
  const md5 = (b: Buffer) => createHash("md5").update(b).digest("base64");

  test("a PUT with the right Content-MD5 is stored byte-identical, signed as UNSIGNED-PAYLOAD", async () => {
    const data = testBytes(70_000);
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: "ok.bin", Body: data, ContentLength: data.length, ContentMD5: md5(data) }));
    assert.deepEqual(sent.filter((s) => s.op === "PutObjectCommand").map((s) => s.payload), ["UNSIGNED-PAYLOAD"]);
    const got = await admin.send(new GetObjectCommand({ Bucket: bucket, Key: "ok.bin" }));
    assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(data));
    // A request without Content-MD5 keeps the signed payload hash.
    const get = sent.find((s) => s.op === "GetObjectCommand");
    assert.equal(get, undefined, "the admin client is not the client under test");
    await client.send(new GetObjectCommand({ Bucket: bucket, Key: "ok.bin" })).then((r) => r.Body!.transformToByteArray());
    assert.match(sent.find((s) => s.op === "GetObjectCommand")?.payload ?? "", /^[0-9a-f]{64}$/);
  });

  test("bytes that do not match the Content-MD5 are refused by the server (BadDigest) and leave no object", async () => {
    const data = testBytes(70_000);
    const other = Buffer.from(data);
    other[1234] = other[1234]! ^ 0xff;
    await assert.rejects(
      () => client.send(new PutObjectCommand({ Bucket: bucket, Key: "bad.bin", Body: other, ContentLength: other.length, ContentMD5: md5(data) })),
      (err: Error) => err.name === "BadDigest",
    );
    await assert.rejects(() => admin.send(new GetObjectCommand({ Bucket: bucket, Key: "bad.bin" })), (err: Error) => err.name === "NoSuchKey");
  });
});

describe("S3 adapter: a one-part put with declared md5 and sha256 is streamed, and still verified", () => {
  const admin = adminClient();
  const store = createS3Store(rgwOptions());
  const bucket = uniqueBucket("sf-stream");
  before(() => createBucket(admin, bucket));
  after(async () => {
    await deleteBucket(admin, bucket);
    await store.close();
    admin.destroy();
  });
  const exists = (key: string) =>
    admin.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).then(
      () => true,
      (err: Error) => (err.name === "NotFound" ? false : Promise.reject(err)),
    );
  const digests = (b: Buffer) => ({ sha256: sha256Hex(b), md5: md5Hex(b) });

  test("the object round-trips with its sha256 metadata", async () => {
    const data = testBytes(300_000);
    const r = await store.put({ bucket, key: "s/ok.bin", body: () => bodyOf(data), size: data.length, ...digests(data) });
    assert.equal(r.sha256, sha256Hex(data));
    assert.equal(r.md5, md5Hex(data));
    const got = await store.get(bucket, "s/ok.bin");
    assert.ok((await readAll(got.body)).equals(data));
    assert.equal(got.info.metadata.sha256, sha256Hex(data));
  });

  test("bytes that differ from the declared md5 are refused by the server: INTEGRITY, no object", async () => {
    const data = testBytes(300_000);
    const other = Buffer.from(data);
    other[7] = other[7]! ^ 1;
    await rejectsWith(() => store.put({ bucket, key: "s/md5.bin", body: bodyOf(other), size: other.length, ...digests(data) }), "INTEGRITY");
    assert.equal(await exists("s/md5.bin"), false);
  });

  test("a declared sha256 that the bytes do not have: INTEGRITY, and the stored object is removed", async () => {
    const data = testBytes(300_000);
    await rejectsWith(() => store.put({ bucket, key: "s/sha.bin", body: bodyOf(data), size: data.length, sha256: sha256Hex(Buffer.from("x")), md5: md5Hex(data) }), "INTEGRITY");
    assert.equal(await exists("s/sha.bin"), false);
  });

  // Up to 256 KiB the body is read whole instead (put.ts, BUFFERED_MAX): the same guarantees.
  test("a small object: the declared md5 is what the server checks, a wrong sha256 is refused before sending", async () => {
    const data = testBytes(100_000);
    const r = await store.put({ bucket, key: "s/small.bin", body: () => bodyOf(data), size: data.length, ...digests(data) });
    assert.equal(r.md5, md5Hex(data));
    assert.ok((await readAll((await store.get(bucket, "s/small.bin")).body)).equals(data));
    const other = Buffer.from(data);
    other[7] = other[7]! ^ 1;
    await rejectsWith(() => store.put({ bucket, key: "s/small-md5.bin", body: bodyOf(other), size: other.length, sha256: sha256Hex(other), md5: md5Hex(data) }), "INTEGRITY");
    assert.equal(await exists("s/small-md5.bin"), false);
    await rejectsWith(() => store.put({ bucket, key: "s/small-sha.bin", body: bodyOf(data), size: data.length, sha256: sha256Hex(other), md5: md5Hex(data) }), "INTEGRITY");
    assert.equal(await exists("s/small-sha.bin"), false);
  });

  test("a body that fails mid-way: SOURCE, no object", async () => {
    const data = testBytes(300_000);
    await rejectsWith(() => store.put({ bucket, key: "s/fail.bin", body: failingBody(data, 100_000), size: data.length, ...digests(data) }), "SOURCE");
    assert.equal(await exists("s/fail.bin"), false);
  });
});
