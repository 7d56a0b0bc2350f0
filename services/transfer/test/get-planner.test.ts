import assert from "node:assert/strict";
import { test } from "node:test";
import type { HistoryImportCreate, RpcRequest } from "@skyferry/contracts";
import { isSkyferryError } from "@skyferry/errors";
import { createGetPlanner, type GetPlannerDeps } from "../src/get/planner.ts";
import type { JobDoc } from "../src/jobs/job-doc.ts";
import { fakeJobs, fakeStore } from "./fakes.ts";

const HIST = "0123456789abcdef";
const AUTHZ = "fedcba9876543210";
const actor = { user_id: "1111111111111111" };

function setup(over: Partial<GetPlannerDeps> = {}) {
  const store = fakeStore({ buckets: ["bkt"] });
  for (const key of ["a.bed", "b.txt"]) store.objects.set(`bkt/${key}`, { body: Buffer.from(key), info: { key, size: key.length, etag: `"e-${key}"`, metadata: {} } });
  const jobs = fakeJobs();
  const created: Array<RpcRequest<typeof HistoryImportCreate>> = [];
  const failedItems: string[] = [];
  const queued: Array<{ id: string; msgId: string }> = [];
  let n = 0;
  const deps: GetPlannerDeps = {
    ownHistory: async () => undefined,
    describeAuthz: async () => ({ provider: "s3" }),
    openStore: async () => store,
    createItems: async (req) => {
      created.push(req);
      return req.items.map((it, i) => ({ item: { id: `aaaaaaaaaaaaaa${String(i).padStart(2, "0")}`, hid: i + 1, name: it.name, state: "queued" as const }, store_key: `k/${i}` }));
    },
    failItem: async (_a, id) => void failedItems.push(id),
    jobs,
    enqueue: async (job: JobDoc, msgId: string) => void queued.push({ id: job._id, msgId }),
    newId: () => `${String(++n).padStart(16, "0")}`,
    now: () => new Date("2026-01-01T00:00:00Z"),
    limits: { maxObjects: 3, maxBytes: 1000, headConcurrency: 2 },
    ...over,
  };
  return { deps, store, jobs, created, failedItems, queued };
}

test("a missing object becomes a failed entry; the others become queued items with get jobs on the queue", async () => {
  const s = setup();
  const out = await createGetPlanner(s.deps)({ actor, history_id: HIST, authz_id: AUTHZ, bucket: "bkt", objects: ["a.bed", "nope", "b.txt"], input_args: { space_to_tab: "true", file_type: "auto", dbkey: "hg19" } });
  assert.deepEqual(out.items.map((i) => [i.name, i.object, i.state]), [["a.bed", "a.bed", "queued"], ["b.txt", "b.txt", "queued"]]);
  assert.deepEqual(out.failed.map((f) => f.object), ["nope"]);
  assert.deepEqual(s.created[0]!.items.map((i) => [i.name, i.file_type, i.dbkey]), [["a.bed", undefined, "hg19"], ["b.txt", undefined, "hg19"]]);
  const docs = [...s.jobs.docs.values()];
  assert.deepEqual(docs.map((d) => [d.direction, d.dataset_id, d.store_key, d.bytes_total, d.get?.space_to_tab, d.get?.to_posix_lines, d.get?.file_type]), [
    ["get", "aaaaaaaaaaaaaa00", "k/0", 5, true, false, null],
    ["get", "aaaaaaaaaaaaaa01", "k/1", 5, true, false, null],
  ]);
  assert.deepEqual(s.queued.map((q) => q.msgId), out.items.map((i) => i.job_id));
});

test("nothing is created when the bucket is missing, a name is invalid or too many objects are named", async () => {
  const cases: Array<[{ bucket?: string; objects?: string[] | undefined; history_id?: string }, number]> = [
    [{ bucket: "missing" }, 404],
    [{ bucket: "Bad_Name" }, 400],
    [{ objects: ["a.bed", "b.txt", "c", "d"] }, 400],
    [{ objects: undefined }, 400],
    [{ history_id: "zz" }, 400],
  ];
  for (const [req, status] of cases) {
    const s = setup();
    const base = { actor, history_id: HIST, authz_id: AUTHZ, bucket: "bkt", objects: ["a.bed"] as string[] | undefined };
    await assert.rejects(
      createGetPlanner(s.deps)({ ...base, ...req }),
      (err) => isSkyferryError(err) && err.status === status,
      JSON.stringify(req),
    );
    assert.equal(s.created.length, 0);
    assert.equal(s.jobs.docs.size, 0);
  }
});

test("when queueing fails midway, every created item and job ends in error and the error is the answer", async () => {
  let calls = 0;
  const s = setup({
    enqueue: async () => {
      if (++calls === 2) throw new Error("NATS down");
    },
    limits: { maxObjects: 3, maxBytes: 1000, headConcurrency: 1 },
  });
  await assert.rejects(createGetPlanner(s.deps)({ actor, history_id: HIST, authz_id: AUTHZ, bucket: "bkt", objects: ["a.bed", "b.txt"] }), /NATS down/);
  assert.deepEqual(s.failedItems.sort(), ["aaaaaaaaaaaaaa00", "aaaaaaaaaaaaaa01"]);
  assert.ok([...s.jobs.docs.values()].every((d) => d.state === "error"));
});
