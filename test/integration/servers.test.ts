import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, test } from "node:test";
import { CreateBucketCommand, DeleteBucketCommand, ListBucketsCommand, S3Client } from "@aws-sdk/client-s3";
import { BlobServiceClient, StorageSharedKeyCredential } from "@azure/storage-blob";
import { MongoClient, MongoServerError } from "mongodb";
import { stackEnv } from "../support/stack-env.ts";

// Each real server of the local stack does what a stand-in would not: it checks credentials
// and enforces constraints. (JetStream redelivery is covered in packages/bus/test.)
describe("the local stack's servers are real", () => {
  const stack = stackEnv();
  const s3 = (secret: string) =>
    new S3Client({
      endpoint: stack.s3.endpoint,
      region: stack.s3.region,
      forcePathStyle: true,
      credentials: { accessKeyId: stack.s3.accessKeyId, secretAccessKey: secret },
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    });

  test("radosgw accepts the right secret and refuses a wrong one with 403", async () => {
    const good = s3(stack.s3.secretAccessKey);
    const bucket = `servers-${randomBytes(4).toString("hex")}`;
    await good.send(new CreateBucketCommand({ Bucket: bucket }));
    try {
      const listed = await good.send(new ListBucketsCommand({}));
      assert.ok(listed.Buckets?.some((b) => b.Name === bucket));
      const bad = s3(`${stack.s3.secretAccessKey.slice(0, -4)}XXXX`);
      await assert.rejects(bad.send(new ListBucketsCommand({})), (err: { name: string; $metadata?: { httpStatusCode?: number } }) => {
        assert.equal(err.$metadata?.httpStatusCode, 403);
        // RGW answers AccessDenied (with STS auth enabled) where AWS says SignatureDoesNotMatch.
        assert.match(err.name, /^(SignatureDoesNotMatch|AccessDenied)$/);
        return true;
      });
    } finally {
      await good.send(new DeleteBucketCommand({ Bucket: bucket }));
    }
  });

  test("Azurite accepts the account key and refuses a wrong one with 403", async () => {
    const client = (key: string) =>
      new BlobServiceClient(stack.azure.endpoint, new StorageSharedKeyCredential(stack.azure.account, key));
    const name = `servers-${randomBytes(4).toString("hex")}`;
    const good = client(stack.azure.key);
    await good.createContainer(name);
    try {
      assert.equal(await good.getContainerClient(name).exists(), true);
      const wrongKey = randomBytes(64).toString("base64");
      await assert.rejects(client(wrongKey).getContainerClient(name).getProperties(), (err: { statusCode?: number }) => {
        assert.equal(err.statusCode, 403);
        return true;
      });
    } finally {
      await good.deleteContainer(name);
    }
  });

  test("the MongoDB wire-protocol server enforces a unique index", async () => {
    const client = new MongoClient(stack.mongoUrl);
    await client.connect();
    const db = client.db(`t_servers_${randomBytes(4).toString("hex")}`);
    try {
      const c = db.collection<{ _id: string; key: string }>("things");
      await c.createIndex({ key: 1 }, { unique: true });
      await c.insertOne({ _id: "a", key: "same" });
      await assert.rejects(c.insertOne({ _id: "b", key: "same" }), (err: unknown) => {
        assert.ok(err instanceof MongoServerError);
        assert.equal(err.code, 11000);
        return true;
      });
      assert.equal(await c.countDocuments(), 1);
    } finally {
      await db.dropDatabase();
      await client.close();
    }
  });
});
