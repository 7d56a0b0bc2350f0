import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { readAll, rejectsWith, testBytes, uniqueBucket } from "@skyferry/storage/contract-suite";
import { createS3Client } from "../src/client.ts";
import { createDirectPut, encodeKey } from "../src/direct-put.ts";
import { createS3Store } from "../src/index.ts";
import { adminClient, createBucket, deleteBucket, rgwOptions } from "./support.ts";

const md5b64 = (b: Buffer) => createHash("md5").update(b).digest("base64");

describe("direct PUT: where a bucket's one-PUT objects go", () => {
  const aws = createS3Client({ region: "eu-west-1", credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" } });
  const custom = createS3Client({ region: "us-east-1", endpoint: "http://127.0.0.1:7480", credentials: { accessKeyId: "a", secretAccessKey: "b" } });
  after(() => {
    aws.destroy();
    custom.destroy();
  });

  test("AWS: virtual-hosted for a DNS-style name, path-style for a dotted one (the SDK's own rules)", async () => {
    const d = createDirectPut(aws, { region: "eu-west-1", forcePathStyle: false, requestTimeoutMs: 1000 });
    assert.equal(d.target("plain-bucket"), "https://plain-bucket.s3.eu-west-1.amazonaws.com");
    assert.equal(d.target("dotted.bucket"), "https://s3.eu-west-1.amazonaws.com/dotted.bucket");
    await d.close();
  });

  test("a custom endpoint: path-style when asked; a name the rules refuse goes through the SDK", async () => {
    const path = createDirectPut(custom, { region: "us-east-1", endpoint: "http://127.0.0.1:7480", forcePathStyle: true, requestTimeoutMs: 1000 });
    assert.equal(path.target("b1"), "http://127.0.0.1:7480/b1");
    await path.close();
    const hosted = createDirectPut(custom, { region: "us-east-1", endpoint: "http://127.0.0.1:7480", forcePathStyle: false, requestTimeoutMs: 1000 });
    assert.equal(hosted.target("b1"), "http://127.0.0.1:7480/b1", "an IP endpoint cannot carry the bucket as a host name");
    // The SDK's rules build http://dotted.bucket.127.0.0.1:7480, which is no URL: not ours to send.
    assert.equal(hosted.target("dotted.bucket"), undefined);
    assert.equal(hosted.put({ bucket: "dotted.bucket", key: "k", headers: { "content-md5": "x", "content-length": "0" }, body: Buffer.alloc(0) }), undefined);
    await hosted.close();
  });

  test("keys are encoded per segment as the SDK encodes them, slashes kept", () => {
    assert.equal(encodeKey("a/b c/ü.txt"), "a/b%20c/%C3%BC.txt");
    assert.equal(encodeKey("it's (1)*!"), "it%27s%20%281%29%2A%21");
    assert.equal(encodeKey("100%+x=y&z#?"), "100%25%2Bx%3Dy%26z%23%3F");
    assert.equal(encodeKey("/lead//double/"), "/lead//double/");
  });
});

describe("direct PUT on radosgw", () => {
  const admin = adminClient();
  const bucket = uniqueBucket("sf-direct");
  before(() => createBucket(admin, bucket));
  after(async () => {
    await deleteBucket(admin, bucket);
    admin.destroy();
  });

  test("sends the PUT without the SDK's middleware, and the SDK reads the object back", async () => {
    const client = createS3Client(rgwOptions());
    const through: string[] = [];
    client.middlewareStack.add((next, context) => async (args) => {
      through.push(String(context.commandName));
      return next(args);
    }, { step: "initialize", name: "testRecordCommands" });
    const d = createDirectPut(client, { region: rgwOptions().region, endpoint: rgwOptions().endpoint, forcePathStyle: true, requestTimeoutMs: 10_000 });
    try {
      const data = testBytes(100 * 1024);
      const r = await d.put({ bucket, key: "direct/one.bin", headers: { "content-md5": md5b64(data), "content-length": String(data.length), "x-amz-meta-sha256": "s" }, body: data });
      assert.equal(r?.etag, `"${createHash("md5").update(data).digest("hex")}"`);
      assert.deepEqual(through, [], "no SDK command ran");
      const got = await admin.send(new GetObjectCommand({ Bucket: bucket, Key: "direct/one.bin" }));
      assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(data));
      assert.equal(got.Metadata?.sha256, "s");
    } finally {
      client.destroy();
      await d.close();
    }
  });

  test("keys with spaces, unicode, reserved and dot segments are stored under exactly that key", async () => {
    const store = createS3Store(rgwOptions());
    const keys = ["sp ace/ü ñ.txt", "q?x=1&y#z", "it's (1)*!+%20", "a/../b/./c", "x//y"];
    try {
      for (const key of keys) {
        const data = Buffer.from(`body of ${key}`);
        await store.put({ bucket, key, body: Readable.from([data]), size: data.length, sha256: createHash("sha256").update(data).digest("hex"), md5: createHash("md5").update(data).digest("hex"), ifNoneMatch: true });
        const got = await admin.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        assert.equal(await got.Body!.transformToString(), data.toString(), key);
        const back = await store.get(bucket, key);
        assert.ok((await readAll(back.body)).equals(data), key);
      }
      const listed = await admin.send(new ListObjectsV2Command({ Bucket: bucket }));
      for (const key of keys) assert.ok(listed.Contents?.some((o) => o.Key === key), `listed: ${key}`);
    } finally {
      await Promise.all(keys.map((k) => store.delete(bucket, k)));
      await store.close();
    }
  });

  test("an unreachable endpoint is TRANSIENT; an aborted PUT is ABORTED and leaves no object", async () => {
    const down = createS3Store({ ...rgwOptions(), endpoint: "http://127.0.0.1:9" });
    const data = testBytes(1000);
    const digests = { sha256: createHash("sha256").update(data).digest("hex"), md5: createHash("md5").update(data).digest("hex") };
    await rejectsWith(() => down.put({ bucket, key: "never", body: Readable.from([data]), size: data.length, ...digests }), "TRANSIENT");
    await down.close();

    const store = createS3Store(rgwOptions());
    // Read whole (up to 256 KiB) and streamed: a body that gives half and then stalls until the abort.
    for (const size of [1000, 300_000]) {
      const bytes = testBytes(size);
      const ac = new AbortController();
      const stalled = new Readable({ read() {} });
      stalled.push(bytes.subarray(0, size / 2));
      const put = store.put({ bucket, key: `aborted-${size}`, body: stalled, size, sha256: createHash("sha256").update(bytes).digest("hex"), md5: createHash("md5").update(bytes).digest("hex"), signal: ac.signal });
      setTimeout(() => ac.abort(), 200);
      await rejectsWith(() => put, "ABORTED");
      assert.equal(await store.head(bucket, `aborted-${size}`), null);
    }
    await store.close();
  });
});
