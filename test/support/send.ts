// Helpers for the send end-to-end tests and the send benchmark: independent provider clients
// (the SDKs used directly, not skyferry's adapters), job polling, and real worker processes.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Readable } from "node:stream";
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, ListMultipartUploadsCommand, S3Client } from "@aws-sdk/client-s3";
import { BlobServiceClient, StorageSharedKeyCredential } from "@azure/storage-blob";
import { natsEnv, stackEnv, stackOutboundAllow } from "./stack-env.ts";

export const repoRoot = resolve(import.meta.dirname, "../..");

/** An S3 client for radosgw built straight from the SDK (path style, Content-MD5 era checksums). */
export function independentS3(): S3Client {
  const { s3 } = stackEnv();
  return new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
}

export async function createS3Bucket(client: S3Client, bucket: string): Promise<void> {
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
}

export async function readS3(client: S3Client, bucket: string, key: string): Promise<{ body: Buffer; metadata: Record<string, string> }> {
  const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  return { body: Buffer.from(await out.Body!.transformToByteArray()), metadata: head.Metadata ?? {} };
}

export async function s3MultipartUploads(client: S3Client, bucket: string): Promise<string[]> {
  const out = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  return (out.Uploads ?? []).map((u) => `${u.Key}:${u.UploadId}`);
}

/** An Azure client for Azurite with the account's shared key, built straight from the SDK. */
export function independentAzure(): BlobServiceClient {
  const { azure } = stackEnv();
  return new BlobServiceClient(azure.endpoint, new StorageSharedKeyCredential(azure.account, azure.key));
}

export async function readAzure(client: BlobServiceClient, container: string, name: string): Promise<{ body: Buffer; metadata: Record<string, string> }> {
  const blob = client.getContainerClient(container).getBlockBlobClient(name);
  const body = await blob.downloadToBuffer();
  const props = await blob.getProperties();
  return { body, metadata: props.metadata ?? {} };
}

export const sha256 = (b: Buffer): string => createHash("sha256").update(b).digest("hex");

export async function sha256Stream(s: Readable): Promise<string> {
  const h = createHash("sha256");
  for await (const c of s) h.update(c as Buffer);
  return h.digest("hex");
}

/** A JSON call to the gateway with an API key header; returns status and parsed body. */
export async function api<T = unknown>(base: string, path: string, init: { key?: string; method?: string; body?: unknown; cookie?: string } = {}): Promise<{ status: number; body: T }> {
  const headers: Record<string, string> = {};
  if (init.key) headers["x-api-key"] = init.key;
  if (init.cookie) headers.cookie = init.cookie;
  if (init.body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${base}${path}`, { method: init.method ?? "GET", headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

export interface JobView {
  id: string;
  state: string;
  object_key: string;
  bytes_total: number;
  bytes_done: number;
  attempts: number;
  outcome: string | null;
  error: { code: string; message: string; provider_reason?: string } | null;
  checksum: { sha256: string; md5: string };
  [k: string]: unknown;
}

/** Polls `GET /api/jobs/{id}` until every job is in a final state (ok, error, deleted). */
export async function waitForJobs(base: string, key: string, ids: string[], timeoutMs = 120_000, pollMs = 100): Promise<JobView[]> {
  const deadline = Date.now() + timeoutMs;
  const done = new Map<string, JobView>();
  // What each unfinished job last answered, for the timeout's message: stuck where, or unreadable.
  const last = new Map<string, string>();
  while (done.size < ids.length) {
    if (Date.now() > deadline) {
      const open = ids.filter((i) => !done.has(i));
      throw new Error(`jobs not finished after ${timeoutMs} ms: ${open.map((i) => `${i} (${last.get(i) ?? "never answered"})`).join(", ")}`);
    }
    for (const id of ids) {
      if (done.has(id)) continue;
      const { status, body } = await api<JobView>(base, `/api/jobs/${id}`, { key });
      last.set(id, status === 200 ? `${body.state}, ${body.bytes_done} of ${body.bytes_total} bytes, attempts ${body.attempts}${body.error ? `, ${body.error.code}` : ""}` : `HTTP ${status} ${JSON.stringify(body).slice(0, 120)}`);
      // A request in flight to a worker process that was just killed times out (503): ask again.
      if (status === 503) continue;
      if (status !== 200) throw new Error(`GET /api/jobs/${id} answered ${status}: ${JSON.stringify(body)}`);
      if (["ok", "error", "deleted"].includes(body.state)) done.set(id, body);
    }
    if (done.size < ids.length) await new Promise((r) => setTimeout(r, pollMs));
  }
  return ids.map((i) => done.get(i)!);
}

/** A real transfer worker process (`node --import tsx services/transfer/src/server.ts`). */
export interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  logs: string[];
  /** Peak resident set size (VmHWM) in KiB, read from /proc while it runs. */
  peakRssKiB(): number;
  stop(): Promise<void>;
}

/** Starts a worker; `nodeArgs` go before the script (e.g. `--cpu-prof`, which NODE_OPTIONS refuses). */
/**
 * Starts a transfer worker process: from its TypeScript sources (tests), or with `bundle` from the
 * built module `services/transfer/dist/server.mjs` that `npm start` and the image run (benchmarks;
 * build it first with `buildTransferBundle`).
 */
export async function spawnWorker(env: Record<string, string>, nodeArgs: string[] = [], from: "sources" | "bundle" = "sources"): Promise<WorkerProcess> {
  // The bundle runs as `npm start` runs it: with the service's node flags (services/transfer/node-flags).
  const flags = readFileSync(resolve(repoRoot, "services/transfer/node-flags"), "utf8").split(/\s+/).filter(Boolean);
  const entry = from === "bundle" ? ["--enable-source-maps", ...flags, "services/transfer/dist/server.mjs"] : ["--import", "tsx", ...flags, "services/transfer/src/server.ts"];
  const child = spawn(process.execPath, [...nodeArgs, ...entry], {
    cwd: repoRoot,
    // LOG_LEVEL info at least: start-up is detected by the "listening" line.
    env: { ...process.env, PORT: "0", ...env, LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: string[] = [];
  let ready: () => void;
  const started = new Promise<void>((r) => (ready = r));
  const onData = (b: Buffer) => {
    for (const line of b.toString("utf8").split("\n").filter(Boolean)) {
      logs.push(line);
      if (line.includes('"listening"')) ready();
    }
  };
  child.stdout!.on("data", onData);
  child.stderr!.on("data", onData);
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise((_, rej) => {
    timer = setTimeout(() => rej(new Error(`worker did not start:\n${logs.join("\n")}`)), 30_000);
  });
  await Promise.race([started, exited, timeout]).finally(() => clearTimeout(timer));
  if (child.exitCode !== null) throw new Error(`worker exited at start:\n${logs.join("\n")}`);
  return {
    child,
    pid: child.pid!,
    logs,
    peakRssKiB: () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))?.[1] ?? 0),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      // unref: a worker that exits at once must not keep the test process alive for 15 s.
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000).unref())]);
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
  };
}

export async function createAzureContainer(client: BlobServiceClient, name: string): Promise<void> {
  await client.getContainerClient(name).create();
}

/** The environment a spawned transfer worker needs to join a test system. */
export function workerEnv(sys: { namespace: string; db: string }): Record<string, string> {
  const stack = stackEnv();
  const shapes = process.env.SKYFERRY_DB_QUERY_SHAPES;
  // The outbound policy refuses loopback: the stack's own servers are allowlisted, as startSystem does.
  return {
    ...natsEnv("transfer"), MONGO_URL: stack.mongoUrl, MONGO_DB: sys.db, SKYFERRY_NAMESPACE: sys.namespace, SKYFERRY_OUTBOUND_ALLOW: stackOutboundAllow(),
    ...(shapes ? { SKYFERRY_DB_QUERY_SHAPES: shapes } : {}),
  };
}

/**
 * Deletes the objects, unfinished uploads and the buckets a test created, so its bytes do not
 * stay in radosgw's memstore (shared by every test); gives up quietly after `timeoutMs`.
 */
export async function removeS3Buckets(client: S3Client, buckets: Iterable<string>, timeoutMs = 30_000): Promise<void> {
  const { DeleteBucketCommand, DeleteObjectsCommand, ListObjectsV2Command, AbortMultipartUploadCommand } = await import("@aws-sdk/client-s3");
  const work = async () => {
    for (const bucket of buckets) {
      for (;;) {
        const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1000 })).catch(() => undefined);
        const keys = (page?.Contents ?? []).map((o) => ({ Key: o.Key! }));
        if (keys.length === 0) break;
        await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
      }
      const ups = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket })).catch(() => undefined);
      for (const u of ups?.Uploads ?? []) await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.Key!, UploadId: u.UploadId! }));
      await client.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => undefined);
    }
  };
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work().catch(() => undefined), new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]).finally(() => clearTimeout(timer));
}

/** Builds `services/transfer/dist/server.mjs` (scripts/build-service.mjs, about a second). */
export function buildTransferBundle(): void {
  execFileSync(process.execPath, ["scripts/build-service.mjs", "transfer"], { cwd: repoRoot, stdio: "inherit" });
}
