import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { createLogger } from "@skyferry/logger";
import { connectMongo, ensureIndexes, isDuplicateKeyError } from "../src/index.ts";

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
