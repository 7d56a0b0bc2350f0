// `npm run bench:send`: throughput of POST /api/cloud/storage/send until every job is ok, against
// the local radosgw, for 1 x 1 GiB, 100 x 10 MiB and 1000 x 100 KiB, beside `rclone copy` and
// `aws s3 cp --recursive` moving the same files to the same server; and each worker's peak RSS.
// Needs the stack (`npm run stack -- up`). Not part of `npm test`. The whole system is real: the
// gateway, authz, history and transfer (send planner, no workers) services run in this process, a
// user signs in through the local OpenID Connect provider, defines an s3 authorization and uploads
// the datasets through the gateway; the transfer workers are separate processes running the built
// module (`services/transfer/dist/server.mjs`, as `npm start` does) at default settings.
// The clock runs from the POST until the last job's `completed` event (each is emitted after the
// job document is `ok`); the job list is then read once to confirm every job is ok.
// Each tool moves each shape BENCH_ROUNDS times (3), alternating which tool goes first; a line per
// round, then each tool's median round (see ROUNDS in shared.ts for why).
// BENCH_SHAPES=small,medium,large picks shapes (default all); BENCH_WORKERS (2) worker processes;
// BENCH_TOOLS=skyferry,rclone,aws picks the tools (default all); BENCH_WORKER_NODE_ARGS adds node
// flags to the workers (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`).
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createBus } from "@skyferry/bus";
import { TransferJobCompleted, TransferJobFailed } from "@skyferry/contracts";
import { cpuWindow, formatCpu, stackProcesses } from "../support/cpu.ts";
import { startSendWorld } from "../support/send-system.ts";
import { emptyBucket, ensureDebianTools, makeFile, median, MiB, rcloneEnv, ROUNDS, runs, SHAPES, TIMEOUT_MS, timed } from "./shared.ts";
import { stackEnv, testBusOptions } from "../support/stack-env.ts";
import { api, buildTransferBundle, createS3Bucket, independentS3, removeS3Buckets, spawnWorker, type WorkerProcess, workerEnv } from "../support/send.ts";

const WORKERS = Number(process.env.BENCH_WORKERS ?? 2);
const TOOLS = ["skyferry", "rclone", "aws"] as const;
type Tool = (typeof TOOLS)[number];

/** Resets a worker's VmHWM so the next reading is the peak of the next shape alone. */
function resetPeak(w: WorkerProcess): void {
  try {
    writeFileSync(`/proc/${w.pid}/clear_refs`, "5");
  } catch {
    // not permitted here: the peak then covers every shape so far
  }
}

/** Resolves when every id in `ids` has a completed event; rejects on the first failed one. */
function jobsDone(waiters: Map<string, (failed?: unknown) => void>, ids: string[], timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let left = ids.length;
    const timer = setTimeout(() => reject(new Error(`${left} of ${ids.length} jobs not ok after ${timeoutMs} ms`)), timeoutMs);
    for (const id of ids) {
      waiters.set(id, (failed) => {
        waiters.delete(id);
        if (failed) {
          clearTimeout(timer);
          reject(new Error(`job failed: ${JSON.stringify(failed)}`));
        } else if (--left === 0) {
          clearTimeout(timer);
          resolve();
        }
      });
    }
  });
}

async function main(): Promise<void> {
  ensureDebianTools({ "/usr/bin/time": "time", ...(runs("rclone") ? { "/usr/bin/rclone": "rclone" } : {}), ...(runs("aws") ? { "/usr/bin/aws": "awscli" } : {}) });
  const stack = stackEnv();
  const s3 = independentS3();
  const world = await startSendWorld({ label: "bench-send", transferEnv: { TRANSFER_WORKER_ENABLED: "false" } });
  const h = world.sys;
  const bus = await createBus({ ...testBusOptions(), namespace: h.namespace, service: "bench", logger: h.logs.logger("bench") });
  const filesRoot = mkdtempSync(join(tmpdir(), "skyferry-bench-send-")); // the same files, for rclone and aws-cli
  const waiters = new Map<string, (failed?: unknown) => void>();
  const early = new Map<string, unknown>(); // events that beat the POST's reply
  const settle = (id: string, failed?: unknown) => {
    const w = waiters.get(id);
    if (w) w(failed);
    else early.set(id, failed ?? null);
  };
  const subs = [
    bus.on(TransferJobCompleted, TransferJobCompleted.pattern(h.namespace), ({ job }) => settle(job.id)),
    bus.on(TransferJobFailed, TransferJobFailed.pattern(h.namespace), ({ job }) => settle(job.id, { id: job.id, state: job.state, error: job.error })),
  ];
  const workers: WorkerProcess[] = [];
  const rows: string[] = [];
  const buckets: string[] = [];
  const block = randomBytes(MiB); // /dev/urandom is slow here: repeat one random block
  try {
    const env = { ...workerEnv(h), DATASET_STORE_DIR: h.datasetDir };
    const nodeArgs = (process.env.BENCH_WORKER_NODE_ARGS ?? "").split(" ").filter(Boolean);
    buildTransferBundle(); // the workers run as `npm start` runs them: the built module, plain node
    for (let i = 0; i < WORKERS; i++) workers.push(await spawnWorker(env, nodeArgs, "bundle"));
    const user = await world.user();
    const authzId = await world.authz(user, "s3");
    const { AWS_CA_BUNDLE: _ca, ...envNoCa } = process.env;
    const rcloneVars = rcloneEnv(stack);
    const awsEnv = { ...envNoCa, AWS_ACCESS_KEY_ID: stack.s3.accessKeyId, AWS_SECRET_ACCESS_KEY: stack.s3.secretAccessKey, AWS_DEFAULT_REGION: stack.s3.region };
    for (const shape of SHAPES) {
      const hist = await world.history(user, shape.label);
      const dir = join(filesRoot, shape.name);
      mkdirSync(dir);
      const batch = Math.max(1, Math.min(100, Math.floor((64 * MiB) / shape.size))); // files per upload request (the history service takes up to 100 by default)
      for (let i = 0; i < shape.count; i += batch) {
        const files = Array.from({ length: Math.min(batch, shape.count - i) }, (_, j) => ({ name: `file-${String(i + j).padStart(4, "0")}.bin`, content: makeFile(i + j, shape.size, block) }));
        await hist.add(...files);
        for (const f of files) writeFileSync(join(dir, f.name), f.content, { flag: "w" });
      }
      const total = shape.count * shape.size;
      const mibs = (s: number | undefined) => (s === undefined ? "-" : (total / MiB / s).toFixed(1)).padStart(9);
      const secs = (s: number | undefined) => (s === undefined ? "-" : s.toFixed(1));
      const times: Record<Tool, number[]> = { skyferry: [], rclone: [], aws: [] };
      const peaks: number[][] = []; // per skyferry round, each worker's peak RSS (KiB)
      const newBucket = async () => {
        const bucket = `bench-${randomBytes(4).toString("hex")}`;
        buckets.push(bucket);
        await createS3Bucket(s3, bucket);
        return bucket;
      };
      // Each tool moves the files to a bucket of its own, made just before: no tool writes into a
      // bucket another has written to, and skyferry's jobs of one round are never those of another.
      const move: Record<Tool, (cpuLines: string[]) => Promise<number>> = {
        skyferry: async (cpuLines) => {
          const bucket = await newBucket();
          workers.forEach(resetPeak);
          // skyferry: from the POST until every job is ok.
          const window = cpuWindow({ ...stackProcesses(), ...Object.fromEntries(workers.map((w, i) => [`worker ${i + 1}`, w.pid])) });
          const t0 = performance.now();
          const res = await api<{ sent: Array<{ job_id: string }> }>(h.url, "/api/cloud/storage/send", { key: user.apiKey, method: "POST", body: { history_id: hist.id, authz_id: authzId, bucket } });
          if (res.status !== 200) throw new Error(`send failed: ${JSON.stringify(res.body)}`);
          const postSecs = (performance.now() - t0) / 1000;
          const ids = res.body.sent.map((s) => s.job_id);
          if (ids.length !== shape.count) throw new Error(`${ids.length} jobs queued, expected ${shape.count}`);
          const done = jobsDone(waiters, ids, TIMEOUT_MS);
          for (const id of ids) if (early.has(id)) waiters.get(id)?.(early.get(id) ?? undefined);
          await done;
          const seconds = (performance.now() - t0) / 1000;
          cpuLines.push(`  CPU s, skyferry: ${formatCpu(window.stop())} (this process: gateway, authz, history and the send planner); the POST answered after ${postSecs.toFixed(2)} s`);
          early.clear();
          // The newest jobs of the history are this round's: each must be listed, and ok.
          const list = await api<Array<{ id: string; state: string }>>(h.url, `/api/jobs?history_id=${hist.id}&limit=${shape.count}`, { key: user.apiKey });
          const states = new Map(list.status === 200 ? list.body.map((j) => [j.id, j.state]) : []);
          const notOk = ids.filter((id) => states.get(id) !== "ok");
          if (notOk.length > 0) throw new Error(`${notOk.length} jobs not listed as ok, e.g. ${notOk[0]}: ${states.get(notOk[0]!) ?? `not listed (HTTP ${list.status})`}`);
          peaks.push(workers.map((w) => w.peakRssKiB()));
          await emptyBucket(s3, bucket);
          return seconds;
        },
        rclone: async (cpuLines) => {
          const bucket = await newBucket();
          const seconds = timed("rclone", "/usr/bin/rclone", ["copy", dir, `bench:${bucket}/rclone`], rcloneVars, cpuLines);
          await emptyBucket(s3, bucket);
          return seconds;
        },
        aws: async (cpuLines) => {
          const bucket = await newBucket();
          const seconds = timed("aws-cli", "/usr/bin/aws", ["s3", "cp", "--recursive", "--only-show-errors", "--endpoint-url", stack.s3.endpoint, dir, `s3://${bucket}/aws/`], awsEnv, cpuLines);
          await emptyBucket(s3, bucket);
          return seconds;
        },
      };
      const tools = TOOLS.filter(runs);
      for (let round = 1; round <= ROUNDS; round++) {
        // Odd rounds start with skyferry, even ones end with it: neither goes first every time.
        const order = round % 2 === 1 ? tools : [...tools.slice(1), tools[0]!];
        const cpuLines: string[] = [];
        for (const tool of order) times[tool].push(await move[tool](cpuLines));
        const last = (tool: Tool) => (runs(tool) ? times[tool].at(-1) : undefined);
        const ratio = last("skyferry") !== undefined && last("rclone") !== undefined ? `${(last("rclone")! / last("skyferry")!).toFixed(2)}x` : "-";
        console.log(`${`  round ${round}`.padEnd(16)}${mibs(last("skyferry"))}${mibs(last("rclone"))}${mibs(last("aws"))}${ratio.padStart(10)}   ${secs(last("skyferry"))} / ${secs(last("rclone"))} / ${secs(last("aws"))} s   (${order.join(", ")})`);
        for (const line of cpuLines) console.log(line);
      }
      const [sky, rclone, aws] = (["skyferry", "rclone", "aws"] as const).map((t) => median(times[t]));
      const ratio = sky !== undefined && rclone !== undefined ? `${(rclone / sky).toFixed(2)}x` : "-";
      // The worker peak RSS of a shape is the highest of its rounds, per worker.
      const peak = workers.map((_, i) => `${(Math.max(0, ...peaks.map((p) => p[i] ?? 0)) / 1024).toFixed(0)}`).join("/");
      rows.push(`${shape.label.padEnd(16)}${mibs(sky)}${mibs(rclone)}${mibs(aws)}${ratio.padStart(10)}   ${`${secs(sky)} / ${secs(rclone)} / ${secs(aws)} s`.padEnd(24)}${peak.padStart(12)}`);
      console.log(`${rows.at(-1)}   (median of ${ROUNDS} rounds)`);
    }
    console.log(`\nmedian of ${ROUNDS} rounds per tool and shape`);
    console.log(`shape             skyferry   rclone  aws-cli  sky/rclone   wall time (sky/rclone/aws)  worker peak RSS MiB`);
    console.log(`                  MiB/s      MiB/s    MiB/s`);
    for (const r of rows) console.log(r);
    const rss = workers.map((w) => `pid ${w.pid}: ${(w.peakRssKiB() / 1024).toFixed(0)} MiB`);
    console.log(`\n${WORKERS} worker processes at default settings; peak RSS (VmHWM) of the last shape: ${rss.join(", ")}`);
  } catch (err) {
    const errors = h.logs.lines.filter((l) => /"level":(50|60)/.test(l));
    console.error(`harness errors:\n${errors.slice(-5).join("\n")}`);
    for (const w of workers) console.error(`worker ${w.pid} errors:\n${w.logs.filter((l) => /"level":(50|60)/.test(l)).slice(-5).join("\n")}`);
    throw err;
  } finally {
    if (process.env.BENCH_LOG_DIR) {
      for (const w of workers) writeFileSync(join(process.env.BENCH_LOG_DIR, `worker-${w.pid}.log`), `${w.logs.join("\n")}\n`);
      writeFileSync(join(process.env.BENCH_LOG_DIR, "harness.log"), `${h.logs.text()}\n`);
    }
    for (const s of subs) s.unsubscribe();
    await bus.drain();
    await Promise.all(workers.map((w) => w.stop()));
    await removeS3Buckets(s3, buckets);
    s3.destroy();
    await world.close();
    rmSync(filesRoot, { recursive: true, force: true });
  }
}

await main();
