// Upload throughput of createS3Store vs @aws-sdk/lib-storage's Upload on the stack's radosgw.
// Not a test. Usage (from packages/storage-s3): `npm run bench -- [MiB=200] [rounds=3]`.
// Each upload runs in its own child process (so peak RSS is per tool); same file, part size 8 MiB,
// 4 parts in flight for both.
// CAUTION on the local stack: radosgw frees deleted multipart data only at garbage collection
// (`rgw gc obj min wait`, 2 h by default) and its memstore OSD holds 4 GiB, so ~4 GB of uploads
// within 2 h fill the OSD and every S3 write hangs, even though each object is deleted here.
// Free it with `radosgw-admin -c .stack/ceph/ceph.conf -n client.admin gc process --include-all`
// (if the OSD is already full: `ceph osd set-full-ratio 0.99` first, back to 0.95 after).
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Upload } from "@aws-sdk/lib-storage";
import { testBytes, uniqueBucket } from "@skyferry/storage/contract-suite";
import { createS3Store } from "../src/index.ts";
import { adminClient, createBucket, deleteBucket, rgwOptions } from "../test/support.ts";

const PART = 8 * 1024 * 1024;
const QUEUE = 4;

async function child(tool: string, bucket: string, file: string, size: number, sha256: string): Promise<void> {
  let peak = 0;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const key = `${tool}-${Date.now()}`;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  if (tool === "skyferry") {
    const store = createS3Store(rgwOptions());
    await store.put({ bucket, key, body: () => createReadStream(file), size, sha256, partSize: PART, concurrency: QUEUE });
    await store.close();
  } else {
    const client = adminClient();
    await new Upload({ client, params: { Bucket: bucket, Key: key, Body: createReadStream(file) }, partSize: PART, queueSize: QUEUE }).done();
    client.destroy();
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  clearInterval(timer);
  // radosgw here keeps objects in RAM (memstore): drop each one once timed.
  const cleanup = createS3Store(rgwOptions());
  await cleanup.delete(bucket, key);
  await cleanup.close();
  console.log(JSON.stringify({ tool, seconds, mibps: size / 1024 / 1024 / seconds, peakRssMiB: peak / 1024 / 1024, cpuSeconds: (cpu.user + cpu.system) / 1e6 }));
}

async function main(): Promise<void> {
  const [, , first, ...rest] = process.argv;
  if (first === "--child") {
    const [tool, bucket, file, size, sha] = rest as [string, string, string, string, string];
    return child(tool, bucket, file, Number(size), sha);
  }
  const mib = Number(first ?? 200);
  const rounds = Number(rest[0] ?? 3);
  const data = testBytes(mib * 1024 * 1024);
  const sha = createHash("sha256").update(data).digest("hex");
  const file = join(tmpdir(), `skyferry-bench-${process.pid}.bin`);
  writeFileSync(file, data);
  const admin = adminClient();
  const bucket = uniqueBucket("sf-bench");
  await createBucket(admin, bucket);
  const results: Record<string, Array<{ mibps: number; peakRssMiB: number }>> = { skyferry: [], "lib-storage": [] };
  try {
    for (let r = 0; r < rounds; r++) {
      for (const tool of r % 2 === 0 ? ["skyferry", "lib-storage"] : ["lib-storage", "skyferry"]) {
        const out = spawnSync(process.execPath, [...process.execArgv, import.meta.filename, "--child", tool, bucket, file, String(data.length), sha], {
          encoding: "utf8",
        });
        const line = out.stdout.trim().split("\n").at(-1) ?? "";
        if (out.status !== 0 || !line.startsWith("{")) throw new Error(`${tool} failed: ${out.stderr}`);
        const res = JSON.parse(line) as { tool: string; mibps: number; peakRssMiB: number; cpuSeconds: number; seconds: number };
        results[tool]!.push(res);
        console.log(`round ${r + 1} ${tool.padEnd(11)} ${res.mibps.toFixed(1)} MiB/s  peak RSS ${res.peakRssMiB.toFixed(0)} MiB  client CPU ${res.cpuSeconds.toFixed(2)} s / ${res.seconds.toFixed(2)} s`);
      }
    }
  } finally {
    await deleteBucket(admin, bucket);
    admin.destroy();
    rmSync(file, { force: true });
  }
  for (const [tool, rs] of Object.entries(results)) {
    const m = rs.map((x) => x.mibps).sort((a, b) => a - b);
    console.log(`${tool.padEnd(11)} ${mib} MiB x ${rs.length}: median ${m[Math.floor(m.length / 2)]?.toFixed(1)} MiB/s (min ${m[0]?.toFixed(1)}, max ${m.at(-1)?.toFixed(1)}), peak RSS max ${Math.max(...rs.map((x) => x.peakRssMiB)).toFixed(0)} MiB`);
  }
}

await main();
