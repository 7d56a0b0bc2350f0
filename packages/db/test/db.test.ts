import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { createLogger } from "@skyferry/logger";
import { connectMongo, ensureIndexes, FERRETDB, findIn, isDuplicateKeyError } from "../src/index.ts";

const url = process.env.MONGO_URL ?? "mongodb://127.0.0.1:27017";

test("ensureIndexes can run at every start-up, and the unique index it creates holds", async () => {
  const logger = createLogger({ name: "db-test", level: "silent" });
  const first = await connectMongo({ url, dbName: `t_db_${randomBytes(4).toString("hex")}`, logger });
  try {
    const specs = { things: [{ key: { key: 1 }, name: "key_unique", unique: true }] };
    await ensureIndexes(first.db, specs);
    await ensureIndexes(first.db, specs); // a second start-up of the same service
    assert.equal(await first.ping(), true, "connection still usable after re-declaring indexes");
    const c = first.db.collection<{ _id: string; key: string }>("things");
    await c.insertOne({ _id: "a", key: "k" });
    await assert.rejects(c.insertOne({ _id: "b", key: "k" }), (err: unknown) => isDuplicateKeyError(err));
  } finally {
    await first.db.dropDatabase();
    await first.close();
  }
});

test("single-document updates are atomic: concurrent $inc are all counted, and of concurrent conditional transitions exactly one wins", async () => {
  const logger = createLogger({ name: "db-test", level: "silent" });
  const m = await connectMongo({ url, dbName: `t_db_${randomBytes(4).toString("hex")}`, logger });
  try {
    const c = m.db.collection<{ _id: string; n: number; state: string; by?: number }>("races");
    await c.insertOne({ _id: "h", n: 0, state: "queued" });
    const incs = await Promise.all(Array.from({ length: 40 }, () => c.findOneAndUpdate({ _id: "h" }, { $inc: { n: 1 } }, { returnDocument: "after" })));
    assert.equal((await c.findOne({ _id: "h" }))?.n, 40, "every $inc counted");
    assert.deepEqual(incs.map((d) => d?.n).sort((a, b) => (a ?? 0) - (b ?? 0)), Array.from({ length: 40 }, (_, i) => i + 1), "each caller saw its own count");
    const claims = await Promise.all(Array.from({ length: 20 }, (_, i) => c.updateOne({ _id: "h", state: "queued" }, { $set: { state: "running", by: i } })));
    assert.equal(claims.filter((r) => r.modifiedCount === 1).length, 1, "exactly one claim of a queued document wins");
    const winner = claims.findIndex((r) => r.modifiedCount === 1);
    assert.equal((await c.findOne({ _id: "h" }))?.by, winner, "the stored document is the winner's");
    // Another client (mongosh, a migration) writes without revisions: not refused.
    const raw = m.client.db(m.db.databaseName).collection<{ _id: string; note?: string }>("races");
    assert.equal((await raw.updateOne({ _id: "h" }, { $set: { note: "by hand" } })).modifiedCount, 1);
    assert.equal((await c.findOneAndUpdate({ _id: "h" }, { $inc: { n: 1 } }, { returnDocument: "after" }))?.n, 41, "and versioned writes go on after it");
    assert.deepEqual(Object.keys((await c.findOne({ _id: "h" })) ?? {}).filter((k) => k.startsWith("_rev")), [], "reads never show the revision");
  } finally {
    await m.db.dropDatabase();
    await m.close();
  }
});

test("findIn answers what `$in` answers, on FerretDB by equality lookups its indexes serve", async () => {
  const logger = createLogger({ name: "db-test", level: "silent" });
  const m = await connectMongo({ url, dbName: `t_db_${randomBytes(4).toString("hex")}`, logger });
  try {
    const c = m.db.collection<{ _id: string; group: string; n: number }>("things");
    await c.insertMany(Array.from({ length: 60 }, (_, i) => ({ _id: `t${i}`, group: `g${i % 6}`, n: i })));
    const ids = ["t1", "t7", "t7", "t59", "nope"];
    const byIn = await c.find({ _id: { $in: ids } }).toArray();
    const found = await findIn(c, "_id", ids);
    assert.deepEqual(found.map((d) => d._id).sort(), byIn.map((d) => d._id).sort());
    assert.deepEqual(found.map((d) => d._id).sort(), ["t1", "t59", "t7"]);
    const grouped = await findIn(c, "group", ["g1", "g2"], { n: { $lt: 20 } }, { projection: { _id: 1 } });
    assert.deepEqual(grouped.map((d) => d._id).sort(), ["t1", "t13", "t14", "t19", "t2", "t7", "t8"]);
    assert.deepEqual(Object.keys(grouped[0]!), ["_id"], "the projection holds");
    assert.deepEqual(await findIn(c, "_id", []), []);
    const ferret = (c as unknown as Record<symbol, unknown>)[FERRETDB];
    const info = await m.db.admin().command({ buildInfo: 1 });
    assert.equal(ferret, typeof info.ferretdbVersion === "string", "the collection knows which server it is on");
  } finally {
    await m.db.dropDatabase();
    await m.close();
  }
});
