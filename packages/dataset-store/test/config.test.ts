import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { CreateBucketCommand, DeleteBucketCommand, DeleteObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { Type } from "@sinclair/typebox";
import { ConfigError, loadConfig } from "@skyferry/config";
import { createLogger } from "@skyferry/logger";
import { Writable } from "node:stream";
import { createDatasetStore, DatasetStoreConfig, isDatasetStoreError } from "../src/index.ts";
import { chunked, readAll } from "./contract-suite.ts";
import { stackS3 } from "./stack.ts";

const Schema = Type.Object({ ...DatasetStoreConfig });
const load = (env: Record<string, string>) => loadConfig(Schema, env);

test("the defaults select the file store in .data/datasets (what start.sh and the transfer service expect)", () => {
  const c = load({});
  assert.equal(c.DATASET_STORE, "file");
  assert.equal(c.DATASET_STORE_DIR, ".data/datasets");
  assert.equal(c.DATASET_STORE_S3_FORCE_PATH_STYLE, false);
});

test("an unknown store kind is a config error that does not echo the secret", () => {
  assert.throws(() => load({ DATASET_STORE: "ftp", DATASET_STORE_S3_SECRET_ACCESS_KEY: "s3cr3t", DATASET_STORE_S3_PART_SIZE_MB: "1" }), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.ok(err.problems.some((p) => p.startsWith("DATASET_STORE:")));
    assert.ok(err.problems.some((p) => p.startsWith("DATASET_STORE_S3_PART_SIZE_MB:")));
    assert.ok(!err.message.includes("s3cr3t"));
    return true;
  });
});

test("createDatasetStore opens the file store from config", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "sf-dataset-config-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const store = await createDatasetStore(load({ DATASET_STORE_DIR: dir }));
  assert.equal(store.kind, "file");
  await store.write("a/b", chunked(Buffer.from("cfg")));
  const ro = await createDatasetStore(load({ DATASET_STORE_DIR: dir }), { readOnly: true });
  assert.equal((await readAll(await ro.read("a/b"))).toString(), "cfg");
  await assert.rejects(ro.write("a/c", chunked(Buffer.from("x"))), (e: unknown) => isDatasetStoreError(e, "DATASET_STORE_READ_ONLY"));
});

const s3Env = () => {
  const s3 = stackS3();
  return {
    DATASET_STORE: "s3",
    DATASET_STORE_S3_ENDPOINT: s3.endpoint,
    DATASET_STORE_S3_REGION: s3.region,
    DATASET_STORE_S3_ACCESS_KEY_ID: s3.credentials.accessKeyId,
    DATASET_STORE_S3_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
    DATASET_STORE_S3_FORCE_PATH_STYLE: "true",
  };
};

test("the s3 store needs a bucket, both credential halves or neither, and an existing bucket", async () => {
  const invalid = (e: unknown) => isDatasetStoreError(e, "DATASET_STORE_CONFIG_INVALID");
  await assert.rejects(createDatasetStore(load(s3Env())), (e: unknown) => invalid(e) && /DATASET_STORE_S3_BUCKET/.test((e as Error).message));
  await assert.rejects(createDatasetStore(load({ ...s3Env(), DATASET_STORE_S3_BUCKET: "b", DATASET_STORE_S3_SECRET_ACCESS_KEY: "" })), invalid);
  await assert.rejects(createDatasetStore(load({ ...s3Env(), DATASET_STORE_S3_BUCKET: `sf-absent-${randomBytes(4).toString("hex")}` })), (e: unknown) => invalid(e) && /does not exist/.test((e as Error).message));
});

test("createDatasetStore opens the s3 store on radosgw from config, with a prefix", async (t) => {
  const s3 = stackS3();
  const admin = new S3Client({ region: s3.region, endpoint: s3.endpoint, forcePathStyle: true, credentials: s3.credentials });
  const bucket = `sf-dataset-cfg-${randomBytes(4).toString("hex")}`;
  await admin.send(new CreateBucketCommand({ Bucket: bucket }));
  t.after(async () => {
    await admin.send(new DeleteObjectCommand({ Bucket: bucket, Key: "ds/x/y" }));
    await admin.send(new DeleteBucketCommand({ Bucket: bucket }));
    admin.destroy();
  });
  const store = await createDatasetStore(load({ ...s3Env(), DATASET_STORE_S3_BUCKET: bucket, DATASET_STORE_S3_PREFIX: "ds/" }));
  t.after(() => store.close?.());
  assert.equal(store.kind, "s3");
  const blob = await store.write("x/y", chunked(Buffer.from("through config")));
  assert.equal(blob.size, 14);
  assert.equal((await readAll(await store.read("x/y", { start: 8 }))).toString(), "config");
  assert.deepEqual(await store.stat("x/y"), { size: 14 });
});

test("a logged config never shows the S3 secret (the logger redacts it by name)", async () => {
  const lines: string[] = [];
  const destination = new Writable({ write: (chunk: Buffer, _enc, done) => void (lines.push(chunk.toString()), done()) });
  const logger = createLogger({ name: "t", destination });
  const config = load({ DATASET_STORE_S3_SECRET_ACCESS_KEY: "TOPSECRET-123", DATASET_STORE_S3_ACCESS_KEY_ID: "AKID" });
  logger.info({ config }, "nested");
  logger.info(config, "merged");
  await new Promise((r) => setImmediate(r));
  assert.equal(lines.length, 2);
  assert.ok(lines.every((l) => !l.includes("TOPSECRET-123")), lines.join(""));
  assert.ok(lines.every((l) => l.includes("[redacted]")));
});
