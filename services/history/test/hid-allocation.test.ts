import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { connectMongo, ensureIndexes, type Mongo } from "@skyferry/db";
import { createDatasetRepository, DATASET_INDEXES, type DatasetDoc } from "../src/datasets/repository.ts";
import { newId } from "../src/ids.ts";

// Against the stack's real MongoDB/FerretDB: hids come from one atomic `$inc` of a per-history
// counter (on FerretDB made atomic by @skyferry/db), under a unique (history_id, hid) index.

const quiet = { info: () => undefined, warn: () => undefined };

describe("hid allocation on the real database", () => {
  let mongo: Mongo;
  before(async () => {
    mongo = await connectMongo({ url: process.env.MONGO_URL ?? "mongodb://127.0.0.1:27017", dbName: `t_hid_${randomBytes(4).toString("hex")}`, logger: quiet });
    await ensureIndexes(mongo.db, { datasets: DATASET_INDEXES });
  });
  after(async () => {
    await mongo?.db.dropDatabase().catch(() => undefined);
    await mongo?.close();
  });

  const doc = (historyId: string): Omit<DatasetDoc, "hid"> => {
    const id = newId();
    const t = new Date();
    return {
      _id: id, dataset_id: newId(), history_id: historyId, user_id: "0123456789abcdef", name: "x", extension: "txt", state: "queued", deleted: false,
      purged: false, visible: true, tags: [], annotation: null, genome_build: null, misc_info: null, misc_blurb: null, peek: null, file_size: 0,
      sha256: null, md5: null, store_key: id, uuid: id, created_from_basename: null, source_uri: null, create_time: t, update_time: t,
    };
  };

  test("40 concurrent inserts into one history get hids 1..40, each once", async () => {
    const repo = createDatasetRepository(mongo.db);
    const historyId = newId();
    const docs = await Promise.all(Array.from({ length: 40 }, () => repo.insertWithNextHid(doc(historyId))));
    assert.deepEqual(docs.map((d) => d.hid).sort((a, b) => a - b), Array.from({ length: 40 }, (_, i) => i + 1));
    const stored = await repo.listOfHistory(historyId);
    assert.deepEqual(stored.map((d) => d.hid), Array.from({ length: 40 }, (_, i) => i + 1));
  });

  test("histories count independently", async () => {
    const repo = createDatasetRepository(mongo.db);
    const [a, b] = [newId(), newId()];
    await repo.insertWithNextHid(doc(a));
    const second = await repo.insertWithNextHid(doc(a));
    const first = await repo.insertWithNextHid(doc(b));
    assert.equal(second.hid, 2);
    assert.equal(first.hid, 1);
  });

  test("a history older than its counter continues after its highest hid", async () => {
    const repo = createDatasetRepository(mongo.db);
    const historyId = newId();
    await repo.collection.insertMany([3, 7].map((hid) => ({ ...doc(historyId), hid })));
    assert.equal((await repo.insertWithNextHid(doc(historyId))).hid, 8);
    assert.equal(await repo.allocateHids(historyId, 5), 9, "a block of five: 9..13");
    assert.equal((await repo.insertWithNextHid(doc(historyId))).hid, 14);
  });

  test("pages of a 250-item history in hid order, with and without a filter, equal the sorted read", async () => {
    const repo = createDatasetRepository(mongo.db);
    const historyId = newId();
    const docs = await Promise.all(Array.from({ length: 250 }, () => repo.insertWithNextHid(doc(historyId))));
    assert.ok(docs.every((d) => d.hid_block === Math.floor((d.hid - 1) / 100)), "each item stored with its hid block");
    // Every third item deleted.
    for (const d of docs.filter((d) => d.hid % 3 === 0)) await repo.set(d._id, { deleted: true }, new Date());
    const all = await repo.listOfHistory(historyId);
    assert.deepEqual(all.map((d) => d.hid), Array.from({ length: 250 }, (_, i) => i + 1));
    const live = all.filter((d) => !d.deleted).map((d) => d.hid);
    for (const [offset, limit] of [[0, 100], [100, 100], [200, 100], [150, 20], [95, 10], [249, 5], [300, 10]] as const) {
      const page = await repo.listOfHistory(historyId, {}, { offset, limit });
      assert.deepEqual(page.map((d) => d.hid), all.slice(offset, offset + limit).map((d) => d.hid), `page ${offset}+${limit}`);
      const filtered = await repo.listOfHistory(historyId, { deleted: false }, { offset, limit });
      assert.deepEqual(filtered.map((d) => d.hid), live.slice(offset, offset + limit), `live page ${offset}+${limit}`);
    }
  });
});
