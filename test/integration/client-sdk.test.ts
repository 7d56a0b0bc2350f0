import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  allDatasets, allJobs, allObjects, collect, createSkyferry, followJob, type JobEvent, ok, type Skyferry, SkyferryApiError, uploadFile, waitForJobs,
} from "@skyferry/client/node";
import { createS3Bucket, independentS3, removeS3Buckets } from "../support/send.ts";
import { startSendWorld, type SendWorld } from "../support/send-system.ts";

// The SDK's helpers against the real services: uploads with progress, paging (limit/offset and
// cursors) across page boundaries, following jobs over SSE, waiting with a time limit, and the
// API's refusals as SkyferryApiError.
describe("the SDK's helpers on the real services", () => {
  const bucket = `sdk-${randomBytes(4).toString("hex")}`;
  const dir = mkdtempSync(join(tmpdir(), "skyferry-sdk-"));
  let world: SendWorld;
  let sky: Skyferry;
  let historyId: string;
  let authzId: string;
  before(async () => {
    world = await startSendWorld({ label: "client-sdk" });
    const user = await world.user();
    sky = createSkyferry({ baseUrl: world.sys.url, apiKey: user.apiKey });
    authzId = await world.authz(user, "s3");
    historyId = ok(await sky.api.POST("/api/histories", { body: { name: "sdk" } })).id!;
    await createS3Bucket(independentS3(), bucket);
  });
  after(async () => {
    await removeS3Buckets(independentS3(), [bucket]).catch(() => undefined);
    await world?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("uploadFile reports progress up to the whole body and answers the new dataset", async () => {
    const body = randomBytes(3 * 1024 * 1024 + 5);
    writeFileSync(join(dir, "big.bin"), body);
    const seen: number[] = [];
    const [d] = await uploadFile(sky, historyId, join(dir, "big.bin"), { onProgress: (p) => seen.push(p.loaded / p.total) });
    assert.equal(d?.state, "ok");
    assert.equal(d?.file_size, body.length);
    assert.ok(seen.length > 3, `progress reported ${seen.length} times`);
    assert.equal(seen.at(-1), 1);
    assert.ok(seen.every((v, i) => i === 0 || v >= seen[i - 1]!), "never backwards");
    await assert.rejects(uploadFile(sky, historyId, join(dir, "missing.bin")), (err: unknown) => err instanceof SkyferryApiError && err.code === "CLIENT_FILE");
  });

  test("paging crosses page boundaries: datasets (limit/offset), jobs (limit/offset), objects (cursor)", async () => {
    for (let i = 0; i < 4; i++) writeFileSync(join(dir, `s${i}.txt`), `small ${i}\n`);
    for (let i = 0; i < 4; i++) await uploadFile(sky, historyId, join(dir, `s${i}.txt`));
    const datasets = await collect(allDatasets(sky, historyId, {}, 2));
    assert.deepEqual(datasets.map((d) => d.hid), [1, 2, 3, 4, 5]);
    const sent = ok(await sky.api.POST("/api/cloud/storage/send", { body: { history_id: historyId, authz_id: authzId, bucket, prefix: "p/" } }));
    assert.equal(sent.sent.length, 5);
    const events: JobEvent[] = [];
    const jobs = await waitForJobs(sky, sent.sent.map((s) => s.job_id), { timeoutMs: 120_000, onEvent: (e) => events.push(e) });
    assert.deepEqual(jobs.map((j) => j.state), ["ok", "ok", "ok", "ok", "ok"]);
    assert.deepEqual(jobs.map((j) => j.id), sent.sent.map((s) => s.job_id), "in the order asked");
    assert.equal(events.filter((e) => e.event === "completed" || (e.event === "state" && e.job.state === "ok")).length, 5, "one final event per job");
    const listed = await collect(allJobs(sky, { history_id: historyId }, 2));
    assert.deepEqual(listed.map((j) => j.id).sort(), sent.sent.map((s) => s.job_id).sort());
    const objects = await collect(allObjects(sky, { authz_id: authzId, bucket, prefix: "p/" }, 2));
    assert.deepEqual(objects.map((o) => ("key" in o ? o.key : o.prefix)), ["p/big.bin", "p/s0.txt", "p/s1.txt", "p/s2.txt", "p/s3.txt"]);
  });

  test("followJob on a finished job yields its state once and ends; an unknown job is a 404 SkyferryApiError", async () => {
    const [job] = await collect(allJobs(sky, { history_id: historyId }, 1));
    const events = await collect(followJob(sky, job!.id));
    assert.deepEqual(events.map((e) => e.event), ["state"]);
    await assert.rejects(collect(followJob(sky, "0123456789abcdef")), (err: unknown) => err instanceof SkyferryApiError && err.status === 404 && err.errCode === 404001);
  });

  test("waitForJobs gives up after timeoutMs with CLIENT_TIMEOUT", async () => {
    const transferOff = await startSendWorld({ label: "client-sdk-off", transferEnv: { TRANSFER_WORKER_ENABLED: "false" } });
    try {
      const user = await transferOff.user();
      const off = createSkyferry({ baseUrl: transferOff.sys.url, apiKey: user.apiKey });
      const h = await transferOff.history(user);
      await h.add({ name: "x.txt", content: Buffer.from("x\n") });
      const a = await transferOff.authz(user, "s3");
      const sent = ok(await off.api.POST("/api/cloud/storage/send", { body: { history_id: h.id, authz_id: a, bucket } }));
      const t0 = Date.now();
      await assert.rejects(waitForJobs(off, sent.sent.map((s) => s.job_id), { timeoutMs: 1500 }), (err: unknown) => err instanceof SkyferryApiError && err.code === "CLIENT_TIMEOUT");
      assert.ok(Date.now() - t0 < 10_000);
    } finally {
      await transferOff.close();
    }
  });

  test("the API's refusals are SkyferryApiError with Galaxy's code; a wrong key is 401001", async () => {
    const wrong = createSkyferry({ baseUrl: world.sys.url, apiKey: "0".repeat(32) });
    assert.throws(() => ok({ response: new Response(null, { status: 500 }) }), SkyferryApiError);
    await assert.rejects(
      (async () => ok(await wrong.api.GET("/api/jobs")))(),
      (err: unknown) => err instanceof SkyferryApiError && err.status === 401 && err.errCode === 401001,
    );
    await assert.rejects(
      (async () => ok(await sky.api.GET("/api/histories/{id}", { params: { path: { id: "nothex" } } })))(),
      (err: unknown) => err instanceof SkyferryApiError && err.status === 400 && err.errCode === 400009,
    );
  });
});
