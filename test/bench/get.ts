// `npm run bench:get`: throughput of POST /api/cloud/storage/get until every job is ok (objects
// streamed from the local radosgw into the dataset store), for 1 x 1 GiB, 100 x 10 MiB and
// 1000 x 100 KiB, beside `rclone copy` downloading the same objects from the same server to a local
// directory. Needs the stack (`npm run stack -- up`). Not part of `npm test`. Every service runs in
// this process (test/support/system.ts) with the real authz (signed in through the mock OIDC
// provider), history and transfer services; the transfer workers run at default settings.
// The clock runs from the POST until the last job's `completed` event. Objects, datasets and local
// copies are deleted after each shape (radosgw here keeps data in RAM).
// BENCH_LOG_DIR=dir keeps the services' log lines in dir/system.log.
// BENCH_SHAPES=small,medium,large picks shapes (default all); BENCH_TOOLS=skyferry,rclone picks tools.
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createBus } from "@skyferry/bus";
import { TransferJobCompleted, TransferJobFailed } from "@skyferry/contracts";
import { cpuWindow, formatCpu, stackProcesses } from "../support/cpu.ts";
import { oidcEnv, signIn, startOidcProvider } from "../support/auth.ts";
import { api, createS3Bucket, independentS3, removeS3Buckets } from "../support/send.ts";
import { stackEnv, testBusOptions } from "../support/stack-env.ts";
import { startSystem } from "../support/system.ts";
import { emptyBucket, ensureDebianTools, makeFile, MiB, rcloneEnv, runs, SHAPES, TIMEOUT_MS, timed } from "./shared.ts";

async function main(): Promise<void> {
  ensureDebianTools({ "/usr/bin/time": "time", ...(runs("rclone") ? { "/usr/bin/rclone": "rclone" } : {}) });
  const stack = stackEnv();
  const s3 = independentS3();
  const oidc = await startOidcProvider();
  const sys = await startSystem({
    label: "bench-get",
    env: { authz: oidcEnv(oidc), transfer: { TRANSFER_GET_MAX_OBJECTS: "1000", TRANSFER_GET_MAX_MB: "4096" } },
  });
  const bus = await createBus({ ...testBusOptions(), namespace: sys.namespace, service: "bench", logger: sys.logs.logger("bench") });
  const finished = new Map<string, unknown>();
  let onFinish: (() => void) | undefined;
  const settle = (id: string, failed?: unknown) => {
    finished.set(id, failed ?? null);
    onFinish?.();
  };
  const subs = [
    bus.on(TransferJobCompleted, TransferJobCompleted.pattern(sys.namespace), ({ job }) => settle(job.id)),
    bus.on(TransferJobFailed, TransferJobFailed.pattern(sys.namespace), ({ job }) => settle(job.id, { id: job.id, state: job.state, error: job.error })),
  ];
  const waitAll = (ids: string[]) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`jobs not ok after ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
      const check = () => {
        const failed = ids.map((i) => finished.get(i)).find((f) => f);
        if (failed) {
          clearTimeout(timer);
          reject(new Error(`job failed: ${JSON.stringify(failed)}`));
        } else if (ids.every((i) => finished.has(i))) {
          clearTimeout(timer);
          resolve();
        }
      };
      onFinish = check;
      check();
    });
  const buckets: string[] = [];
  const rows: string[] = [];
  const work = mkdtempSync(join(tmpdir(), "skyferry-bench-get-"));
  const block = randomBytes(MiB);
  try {
    const user = await signIn(sys);
    const authz = await api<{ id: string }>(sys.url, "/api/cloud/authz", {
      key: user.apiKey, method: "POST",
      body: { provider: "s3", config: { endpoint: stack.s3.endpoint, access_key_id: stack.s3.accessKeyId, secret_access_key: stack.s3.secretAccessKey, region: stack.s3.region, force_path_style: true } },
    });
    if (authz.status !== 200) throw new Error(`authz: ${JSON.stringify(authz.body)}`);
    const rcloneVars = rcloneEnv(stack);
    for (const shape of SHAPES) {
      const total = shape.count * shape.size;
      const bucket = `bench-get-${randomBytes(4).toString("hex")}`;
      buckets.push(bucket);
      await createS3Bucket(s3, bucket);
      // Seed the bucket with rclone from local files (not timed).
      const src = join(work, "src");
      mkdirSync(src, { recursive: true });
      for (let i = 0; i < shape.count; i++) writeFileSync(join(src, `file-${String(i).padStart(4, "0")}.bin`), makeFile(i, shape.size, block));
      timed("rclone", "/usr/bin/rclone", ["copy", src, `bench:${bucket}/data`], rcloneVars);
      rmSync(src, { recursive: true, force: true });
      const mibs = (s: number | undefined) => (s === undefined ? "-" : (total / MiB / s).toFixed(1)).padStart(9);
      const secs = (s: number | undefined) => (s === undefined ? "-" : s.toFixed(1));
      let sky: number | undefined;
      let planned: number | undefined;
      const cpuLines: string[] = [];
      if (runs("skyferry")) {
        const hist = await api<{ id: string }>(sys.url, "/api/histories", { key: user.apiKey, method: "POST", body: { name: shape.label } });
        const window = cpuWindow(stackProcesses());
        const t0 = performance.now();
        const res = await api<Array<{ job_id: string }>>(sys.url, "/api/cloud/storage/get", {
          key: user.apiKey, method: "POST", body: { history_id: hist.body.id, authz_id: authz.body.id, bucket, prefix: "data/", input_args: { file_type: "data" } },
        });
        if (res.status !== 200) throw new Error(`get failed: ${JSON.stringify(res.body).slice(0, 500)}`);
        planned = (performance.now() - t0) / 1000;
        const ids = res.body.map((i) => i.job_id);
        if (ids.length !== shape.count) throw new Error(`${ids.length} jobs queued, expected ${shape.count}`);
        await waitAll(ids);
        sky = (performance.now() - t0) / 1000;
        cpuLines.push(`  CPU s, skyferry: ${formatCpu(window.stop())} (this process: every service, the transfer worker included)`);
        const purge = await api(sys.url, `/api/histories/${hist.body.id}?purge=true`, { key: user.apiKey, method: "DELETE" });
        if (purge.status !== 200) console.warn(`purging the history answered ${purge.status}`);
      }
      const dst = join(work, "dst");
      const rclone = runs("rclone") ? timed("rclone", "/usr/bin/rclone", ["copy", `bench:${bucket}/data`, dst], rcloneVars, cpuLines) : undefined;
      rmSync(dst, { recursive: true, force: true });
      await emptyBucket(s3, bucket);
      const ratio = sky !== undefined && rclone !== undefined ? `${(rclone / sky).toFixed(2)}x` : "-";
      rows.push(`${shape.label.padEnd(16)}${mibs(sky)}${mibs(rclone)}${ratio.padStart(12)}   ${secs(sky)} / ${secs(rclone)} s (get answered after ${secs(planned)} s)`);
      console.log(rows.at(-1));
      for (const line of cpuLines) console.log(line);
    }
    console.log(`\nshape             skyferry   rclone  sky/rclone   wall time (sky/rclone)`);
    console.log(`                  MiB/s      MiB/s`);
    for (const r of rows) console.log(r);
  } catch (err) {
    console.error(`service errors:\n${sys.logs.lines.filter((l) => /"level":(50|60)/.test(l)).slice(-5).join("\n")}`);
    throw err;
  } finally {
    if (process.env.BENCH_LOG_DIR) writeFileSync(join(process.env.BENCH_LOG_DIR, "system.log"), `${sys.logs.text()}\n`);
    for (const s of subs) s.unsubscribe();
    await bus.drain();
    await removeS3Buckets(s3, buckets);
    s3.destroy();
    await sys.close();
    await oidc.close();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
