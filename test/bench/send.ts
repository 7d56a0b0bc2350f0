// `npm run bench:send`: throughput of POST /api/cloud/storage/send until every job is ok, against
// the local radosgw, for 1 x 1 GiB, 100 x 10 MiB and 1000 x 100 KiB, beside `rclone copy` and
// `aws s3 cp --recursive` moving the same files to the same server; and each worker's peak RSS.
// Needs the stack (`npm run stack -- up`). Not part of `npm test`. The gateway and the transfer
// service run in this process (authz/history RPCs answered by the send harness's stand-ins);
// the workers are separate processes at default settings (their VmHWM is reported).
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { DeleteObjectsCommand, ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import { startHarness } from "../support/send-harness.ts";
import { stackEnv } from "../support/stack-env.ts";
import { api, createS3Bucket, independentS3, spawnWorker, type WorkerProcess, workerEnv } from "../support/send.ts";

const MiB = 1024 * 1024;
const SHAPES = [
  { label: "1 x 1 GiB", count: 1, size: 1024 * MiB },
  { label: "100 x 10 MiB", count: 100, size: 10 * MiB },
  { label: "1000 x 100 KiB", count: 1000, size: 100 * 1024 },
];
const WORKERS = Number(process.env.BENCH_WORKERS ?? 2);

/** rclone and aws-cli from Debian, installed once (idempotent). */
function ensureTools(): void {
  if (existsSync("/usr/bin/rclone") && existsSync("/usr/bin/aws")) return;
  console.log("installing rclone and awscli (apt-get)…");
  const install = () => spawnSync("apt-get", ["install", "-y", "rclone", "awscli"], { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  if (install().status !== 0) {
    execFileSync("apt-get", ["update"], { stdio: "inherit" });
    if (install().status !== 0) throw new Error("apt-get install rclone awscli failed");
  }
}

function makeFile(i: number, size: number, block: Buffer): Buffer {
  const buf = Buffer.allocUnsafe(size);
  for (let o = 0; o < size; o += block.length) block.copy(buf, o, 0, Math.min(block.length, size - o));
  buf.writeUInt32BE(i, 0); // distinct files
  return buf;
}

async function emptyBucket(s3: S3Client, bucket: string): Promise<void> {
  for (;;) {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1000 }));
    const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
    if (keys.length === 0) return;
    await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
  }
}

function timed(cmd: string, args: string[], env: Record<string, string | undefined>): number {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { env: env as NodeJS.ProcessEnv, stdio: ["ignore", "ignore", "pipe"] });
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr?.toString()}`);
  return (performance.now() - t0) / 1000;
}

async function main(): Promise<void> {
  ensureTools();
  const stack = stackEnv();
  const s3 = independentS3();
  const h = await startHarness({ label: "bench-send", workers: false });
  const workers: WorkerProcess[] = [];
  const rows: string[] = [];
  const block = randomBytes(MiB); // /dev/urandom is slow here: repeat one random block
  try {
    for (let i = 0; i < WORKERS; i++) workers.push(await spawnWorker({ ...workerEnv(h), DATASET_STORE_DIR: h.datasetDir }));
    const user = h.user();
    const authz = h.authz(user, "s3");
    const { AWS_CA_BUNDLE: _ca, ...envNoCa } = process.env;
    const rcloneEnv = {
      ...envNoCa, RCLONE_CONFIG_BENCH_TYPE: "s3", RCLONE_CONFIG_BENCH_PROVIDER: "Ceph", RCLONE_CONFIG_BENCH_ENDPOINT: stack.s3.endpoint,
      RCLONE_CONFIG_BENCH_ACCESS_KEY_ID: stack.s3.accessKeyId, RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY: stack.s3.secretAccessKey, RCLONE_CONFIG_BENCH_REGION: stack.s3.region,
    };
    const awsEnv = { ...envNoCa, AWS_ACCESS_KEY_ID: stack.s3.accessKeyId, AWS_SECRET_ACCESS_KEY: stack.s3.secretAccessKey, AWS_DEFAULT_REGION: stack.s3.region };
    for (const shape of SHAPES) {
      const hist = h.history(user, shape.label);
      for (let i = 0; i < shape.count; i++) await hist.add(`file-${String(i).padStart(4, "0")}.bin`, makeFile(i, shape.size, block));
      const dir = join(h.datasetDir, hist.id); // the same files, for rclone and aws-cli
      const total = shape.count * shape.size;
      const bucket = `bench-${randomBytes(4).toString("hex")}`;
      await createS3Bucket(s3, bucket);
      // skyferry: from the POST until every job is ok.
      const t0 = performance.now();
      const res = await api<{ sent: Array<{ job_id: string }> }>(h.url, "/api/cloud/storage/send", { key: user.apiKey, method: "POST", body: { history_id: hist.id, authz_id: authz.id, bucket } });
      if (res.status !== 200) throw new Error(`send failed: ${JSON.stringify(res.body)}`);
      for (;;) {
        const list = await api<Array<{ state: string }>>(h.url, `/api/jobs?history_id=${hist.id}&limit=1000`, { key: user.apiKey });
        if (list.status === 200) {
          const bad = list.body.filter((j) => j.state === "error" || j.state === "deleted");
          if (bad.length > 0) throw new Error(`jobs failed: ${JSON.stringify(bad.slice(0, 3))}`);
          if (list.body.length === shape.count && list.body.every((j) => j.state === "ok")) break;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      const sky = (performance.now() - t0) / 1000;
      await emptyBucket(s3, bucket);
      const rclone = timed("/usr/bin/rclone", ["copy", dir, `bench:${bucket}/rclone`], rcloneEnv);
      await emptyBucket(s3, bucket);
      const aws = timed("/usr/bin/aws", ["s3", "cp", "--recursive", "--only-show-errors", "--endpoint-url", stack.s3.endpoint, dir, `s3://${bucket}/aws/`], awsEnv);
      await emptyBucket(s3, bucket);
      const mibs = (s: number) => (total / MiB / s).toFixed(1).padStart(8);
      rows.push(`${shape.label.padEnd(16)}${mibs(sky)}${mibs(rclone)}${mibs(aws)}   (${sky.toFixed(1)} s / ${rclone.toFixed(1)} s / ${aws.toFixed(1)} s)`);
      console.log(rows.at(-1));
    }
    console.log("\nshape            skyferry  rclone aws-cli   MiB/s (wall time)");
    for (const r of rows) console.log(r);
    const rss = workers.map((w) => `pid ${w.pid}: ${(w.peakRssKiB() / 1024).toFixed(0)} MiB`);
    console.log(`\n${WORKERS} worker processes at default settings; peak RSS (VmHWM): ${rss.join(", ")}`);
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await h.close();
  }
}

await main();
