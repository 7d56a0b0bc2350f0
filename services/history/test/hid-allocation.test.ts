import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { connectMongo, ensureIndexes, type Mongo } from "@skyferry/db";
import { createDatasetRepository, DATASET_INDEXES, type DatasetDoc } from "../src/datasets/repository.ts";
import { newId } from "../src/ids.ts";

// Against the stack's real MongoDB/FerretDB: FerretDB 1.x loses concurrent $inc updates to one
// document, so hids come from max(hid)+1 under a unique (history_id, hid) index.

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
});
