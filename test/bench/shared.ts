// What bench:send and bench:get share: the three shapes, the BENCH_* selections, the Debian tools
// they compare against, the test files, the rclone remote for the stack's radosgw, and timing a
// reference tool with the CPU it and the stack used.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { DeleteObjectsCommand, ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import { cpuWindow, formatCpu, stackProcesses, timedCommand } from "../support/cpu.ts";
import type { StackEnv } from "../support/stack-env.ts";

export const MiB = 1024 * 1024;

export interface Shape { name: "large" | "medium" | "small"; label: string; count: number; size: number }

const ALL_SHAPES: Shape[] = [
  { name: "large", label: "1 x 1 GiB", count: 1, size: 1024 * MiB },
  { name: "medium", label: "100 x 10 MiB", count: 100, size: 10 * MiB },
  { name: "small", label: "1000 x 100 KiB", count: 1000, size: 100 * 1024 },
];
const pick = (v: string | undefined) => (v ? new Set(v.split(",").map((s) => s.trim())) : undefined);
const shapesWanted = pick(process.env.BENCH_SHAPES);
const toolsWanted = pick(process.env.BENCH_TOOLS);

/** BENCH_SHAPES=small,medium,large picks shapes (default all). */
export const SHAPES = ALL_SHAPES.filter((s) => !shapesWanted || shapesWanted.has(s.name));
/** BENCH_TOOLS=skyferry,rclone,aws picks the tools (default all). */
export const runs = (tool: string): boolean => !toolsWanted || toolsWanted.has(tool);
/**
 * BENCH_ROUNDS: how many times each tool moves each shape (default 3), alternating which goes
 * first. This machine's figures swing by 10-30 % from one run to the next (other tenants: `st` in
 * vmstat reaches 30 %), so a bench reports each tool's median round beside every round.
 */
export const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));

/** The median of `xs` (the mean of the middle two for an even count); undefined when empty. */
export function median(xs: number[]): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1]! + s[mid]!) / 2;
}

/** BENCH_TIMEOUT_MS: how long skyferry's jobs of one shape may take. */
export const TIMEOUT_MS = Number(process.env.BENCH_TIMEOUT_MS ?? 600_000);

/** Installs the Debian packages whose binaries are missing (binary path -> package), once. */
export function ensureDebianTools(tools: Record<string, string>): void {
  const missing = Object.entries(tools).filter(([bin]) => !existsSync(bin)).map(([, pkg]) => pkg);
  if (missing.length === 0) return;
  console.log(`installing ${missing.join(", ")} (apt-get)…`);
  const install = () => spawnSync("apt-get", ["install", "-y", ...missing], { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  if (install().status !== 0) {
    execFileSync("apt-get", ["update"], { stdio: "inherit" });
    if (install().status !== 0) throw new Error(`apt-get install ${missing.join(" ")} failed`);
  }
}

/** File `i` of a shape: `block` repeated (/dev/urandom is slow here), made distinct by its index. */
export function makeFile(i: number, size: number, block: Buffer): Buffer {
  const buf = Buffer.allocUnsafe(size);
  for (let o = 0; o < size; o += block.length) block.copy(buf, o, 0, Math.min(block.length, size - o));
  buf.writeUInt32BE(i, 0);
  return buf;
}

/**
 * Deletes every object of `bucket`, then has radosgw free their data at once (`stack.sh gc`):
 * the OSD keeps objects in RAM (memstore, 4 GiB), and three tools moving 1 GiB a round within
 * radosgw's 30 s GC period filled it; a full OSD makes every radosgw write hang.
 */
export async function emptyBucket(s3: S3Client, bucket: string): Promise<void> {
  for (;;) {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1000 }));
    const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
    if (keys.length === 0) break;
    await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
  }
  const gc = spawnSync("bash", [fileURLToPath(new URL("../../scripts/stack.sh", import.meta.url)), "gc"], { stdio: "inherit" });
  if (gc.status !== 0) throw new Error(`scripts/stack.sh gc failed (exit ${gc.status})`);
}

/** The environment for rclone with a remote `bench:` on the stack's radosgw (no config file). */
export function rcloneEnv(stack: StackEnv): Record<string, string | undefined> {
  const { AWS_CA_BUNDLE: _ca, ...env } = process.env;
  return {
    ...env, RCLONE_CONFIG_BENCH_TYPE: "s3", RCLONE_CONFIG_BENCH_PROVIDER: "Ceph", RCLONE_CONFIG_BENCH_ENDPOINT: stack.s3.endpoint,
    RCLONE_CONFIG_BENCH_ACCESS_KEY_ID: stack.s3.accessKeyId, RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY: stack.s3.secretAccessKey, RCLONE_CONFIG_BENCH_REGION: stack.s3.region,
  };
}

/** Runs a reference tool; its wall time, with the CPU it and the stack used added to `cpuLines`. */
export function timed(label: string, cmd: string, args: string[], env: Record<string, string | undefined>, cpuLines?: string[]): number {
  const window = cpuWindow(stackProcesses());
  const { seconds, cpu } = timedCommand(cmd, args, env);
  const used = window.stop({ [label]: cpu });
  delete used["this process"];
  cpuLines?.push(`  CPU s, ${label}: ${formatCpu(used)}`);
  return seconds;
}
