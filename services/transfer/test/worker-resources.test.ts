import assert from "node:assert/strict";
import { test } from "node:test";
import type { IssuedCredentials } from "../src/worker/stores.ts";
import { createMemoryBudget } from "../src/worker/memory-budget.ts";
import { createStoreOpener } from "../src/worker/stores.ts";
import { isSinglePut, memoryNeed } from "../src/worker/upload.ts";
import { fakeStore } from "./fakes.ts";

const MiB = 1024 * 1024;

test("the memory budget holds a job back until enough bytes are released, in arrival order", async () => {
  const budget = createMemoryBudget(10);
  const r1 = await budget.acquire(6);
  const order: string[] = [];
  const p2 = budget.acquire(6).then((r) => (order.push("second"), r));
  const p3 = budget.acquire(1).then((r) => (order.push("third"), r));
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(order, [], "the second waits for bytes, the third waits behind it");
  r1();
  r1(); // idempotent
  const [r2, r3] = await Promise.all([p2, p3]);
  assert.deepEqual(order, ["second", "third"]);
  assert.equal(budget.free, 3);
  r2();
  r3();
  assert.equal(budget.free, 10);
  const big = await budget.acquire(100); // larger than the budget: runs alone
  assert.equal(budget.free, 0);
  big();
});

test("a job waiting for memory gives up its place when its signal fires", async () => {
  const budget = createMemoryBudget(4);
  const held = await budget.acquire(4);
  const ac = new AbortController();
  const waiting = budget.acquire(2, ac.signal);
  ac.abort(new Error("cancelled"));
  await assert.rejects(waiting, /cancelled/);
  held();
  assert.equal(budget.free, 4);
});

test("objects up to the one-PUT limit reserve their size; larger ones their parts in flight plus one", () => {
  const s = { partSize: 8 * MiB, partConcurrency: 4, singlePutMax: 16 * MiB };
  assert.equal(isSinglePut(10 * MiB, s), true);
  assert.equal(memoryNeed(100 * 1024, s), 100 * 1024);
  assert.equal(isSinglePut(17 * MiB, s), false);
  assert.equal(memoryNeed(1024 * MiB, s), 40 * MiB);
});

test("the store opener reuses one store per user and authorization, and closes it when retired and released", async () => {
  let issued = 0;
  let created = 0;
  let closed = 0;
  let clock = 0;
  const proofs: unknown[] = [];
  const issue = async (proof: unknown): Promise<IssuedCredentials> => {
    issued++;
    proofs.push(proof);
    return { authz_id: "a", provider: "s3", expires_at: null, credentials: { kind: "s3", region: "r", force_path_style: true, access_key_id: "k", secret_access_key: "s" } };
  };
  const open = createStoreOpener({
    factory: () => {
      created++;
      const s = fakeStore();
      return { ...s, close: async () => void closed++ };
    },
    issue,
    renewBeforeMs: 1000,
    cacheMs: 60_000,
    now: () => clock,
  });
  const job = { user_id: "u", authz_id: "a", grant: "g-u" };
  const [s1, s2] = await Promise.all([open(job), open(job)]);
  await open({ user_id: "other", authz_id: "a", grant: "g-other" }).then((s) => s.close());
  assert.equal(created, 2, "one store for u/a, one for other/a");
  assert.equal(issued, 2, "credentials are asked for once per store, not per job");
  assert.deepEqual(proofs, [{ grant: "g-u" }, { grant: "g-other" }], "a job's credentials are issued against its grant");
  await assert.rejects(open({ user_id: "u2", authz_id: "a" }), (err: { code?: string }) => err.code === "XFER_GRANT_MISSING");
  const actor = { user_id: "u", assertion: "jws" };
  await open({ user_id: "u", authz_id: "a", actor }).then((s) => s.close());
  assert.deepEqual(proofs.at(-1), { actor }, "a request's store is opened with its signed actor...");
  assert.equal(created, 3, "...and never shared with jobs (its assertion soon expires)");
  created = 2;
  closed = 0;
  await s1.close();
  await s1.close(); // idempotent
  clock = 61_000; // u/a has aged out: the next job gets a new store; the old one closes when s2 is done
  const s3 = await open(job);
  assert.equal(created, 3);
  assert.equal(closed, 0);
  await s2.close();
  assert.equal(closed, 1, "the retired store is closed once its last job released it");
  await s3.close();
  await open.closeAll();
  await new Promise((r) => setImmediate(r));
  assert.equal(closed, 3);
});
