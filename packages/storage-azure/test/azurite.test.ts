import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { bodyOf, readAll, rejectsWith, sha256Hex, slowBody, testBytes, uniqueBucket } from "@skyferry/storage/contract-suite";
import { blockId, createAzureStore, toStorageError } from "../src/index.ts";
import { adminService, azuriteOptions, createContainer, deleteContainer, issueSas } from "./support.ts";

describe("Azure adapter on Azurite: SAS, Content-MD5, block MD5, create-only races", () => {
  const admin = adminService();
  const store = createAzureStore(azuriteOptions());
  const bucket = uniqueBucket("sf-az");
  before(() => createContainer(admin, bucket));
  after(async () => {
    await deleteContainer(admin, bucket);
    await store.close();
  });
  const sasStore = (sas: string) => createAzureStore({ accountUrl: azuriteOptions().accountUrl, auth: { kind: "sas", sas }, maxTries: 1 });

  test("an expired SAS is refused, so the renewal contract test proves renewal", async () => {
    const expired = issueSas(-60_000).sas;
    const data = Buffer.from("x");
    await rejectsWith(() => sasStore(expired).put({ bucket, key: "expired", body: bodyOf(data), size: 1 }), "INVALID_CREDENTIALS", "ACCESS_DENIED");
  });

  test("a read-only SAS may read but not write: ACCESS_DENIED", async () => {
    const ro = sasStore(issueSas(60_000, "rl").sas);
    const data = Buffer.from("hello");
    await store.put({ bucket, key: "ro", body: bodyOf(data), size: data.length });
    assert.ok((await readAll((await ro.get(bucket, "ro")).body)).equals(data));
    await rejectsWith(() => ro.put({ bucket, key: "ro2", body: bodyOf(data), size: data.length }), "ACCESS_DENIED");
  });

  test("the service refuses a block whose MD5 differs, and that maps to INTEGRITY", async () => {
    const blob = admin.getContainerClient(bucket).getBlockBlobClient("bad-block");
    const data = Buffer.from("some bytes");
    const wrong = createHash("md5").update("other").digest();
    const err = await blob.stageBlock(blockId("0123456789abcdef", 1, "0".repeat(32)), data, data.length, { transactionalContentMD5: wrong }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err, "stageBlock with a wrong MD5 was refused");
    assert.equal(toStorageError(err, "stageBlock").storageCode, "INTEGRITY");
  });

  test("the committed blob carries the whole object's Content-MD5 and sha256, read independently", async () => {
    const data = testBytes(3 * 1024 * 1024 + 5);
    await store.put({ bucket, key: "md5", body: bodyOf(data), size: data.length, partSize: 1024 * 1024 });
    const props = await admin.getContainerClient(bucket).getBlobClient("md5").getProperties();
    assert.equal(Buffer.from(props.contentMD5!).toString("hex"), createHash("md5").update(data).digest("hex"));
    assert.equal(props.metadata?.sha256, sha256Hex(data));
    assert.equal((await store.head(bucket, "md5"))?.md5, createHash("md5").update(data).digest("hex"));
  });

  test("two concurrent create-only puts of one key: exactly one wins", async () => {
    const datas = [testBytes(2 * 1024 * 1024 + 1), testBytes(2 * 1024 * 1024 + 2)];
    const results = await Promise.allSettled(
      datas.map((d) => store.put({ bucket, key: "race", body: slowBody(d, 1024 * 1024, 100), size: d.length, partSize: 1024 * 1024, ifNoneMatch: true })),
    );
    const won = results.findIndex((r) => r.status === "fulfilled");
    const lost = results.find((r) => r.status === "rejected");
    assert.ok(won >= 0 && lost, results.map((r) => r.status).join(","));
    await rejectsWith(() => Promise.reject(lost.reason), "ALREADY_EXISTS");
    assert.ok((await readAll((await store.get(bucket, "race")).body)).equals(datas[won]!));
  });

  test("block ids are fixed-width and deterministic per upload, part and MD5", () => {
    const a = blockId("0123456789abcdef", 1, "a".repeat(32));
    assert.equal(a, blockId("0123456789abcdef", 1, "a".repeat(32)));
    assert.notEqual(a, blockId("0123456789abcdef", 2, "a".repeat(32)));
    assert.notEqual(a, blockId("0123456789abcdef", 1, "b".repeat(32)));
    assert.equal(blockId("0123456789abcdef", 49_999, "c".repeat(32)).length, a.length);
  });
});
