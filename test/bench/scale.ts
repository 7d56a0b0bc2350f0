// `npm run bench:scale` (issue 22): does the send scale out across transfer worker processes, and
// does it survive losing a worker and a NATS node? Needs the stack (`npm run stack -- up`). Not part
// of `npm test` (its correctness half is test/scale/cluster.test.ts).
//
// The world: a 3-node NATS cluster on loopback (TLS, NKeys and the shipped permissions, as the
// stack's NATS; routes with mutual TLS: test/support/nats-cluster.ts), the transfer work stream and
// its consumer provisioned at 3 replicas (TRANSFER_STREAM_REPLICAS); the gateway, authz, history and
// the send planner in this process; worker processes running the built module; radosgw behind a
// proxy that adds BENCH_SCALE_LATENCY_MS (20) per request and limits each connection to
// BENCH_SCALE_LINK_MIBS (4) MiB/s (test/support/slow-link.ts), so that a worker's throughput is
// set by the provider's answers, as across a WAN, and not by this machine's two cores. (At 20 MiB/s
// per connection, 4 workers x 2 jobs would need ~140 MiB/s, and this machine's radosgw, FerretDB
// and hashing serve ~32 MiB/s in all: the figure then measured the machine, 0.47 at 4 workers,
// with our processes using 1.5 of the 2 cores. At 4 MiB/s the 4-worker run needs ~27 MiB/s.) A real
// Prometheus scraping every worker's /metrics each second.
//
// 1. Scale: for each worker count in BENCH_SCALE_WORKERS (1,2,4), BENCH_ROUNDS (3) rounds of a send
//    of BENCH_SCALE_JOBS_PER_WORKER (60) x workers datasets of BENCH_SCALE_OBJECT_MIB (2) MiB, each
//    worker at TRANSFER_CONCURRENCY BENCH_SCALE_CONCURRENCY (2). The clock runs from the POST to the
//    last job's end as recorded (its update_time). Throughput, and efficiency = throughput /
//    (workers x the 1-worker median). Every round is verified (below) and Prometheus' sum of
//    skyferry_transfer_bytes_total over the round's workers must equal the bytes moved.
// 2. Faults (BENCH_SCALE_FAULT_JOBS=0: none): one send of BENCH_SCALE_FAULT_JOBS (300) datasets starting on 2 workers; at counts of
//    ended jobs a third worker joins (10 %), worker 1 is killed with SIGKILL (30 %), the NATS node
//    leading the work consumer is killed (45 %) and started again (70 %). Verified the same way.
// Verified: every job ok (else lost), every object present once under its planned key with the
// dataset's sha256 (else lost / duplicated / corrupt), no extra object, no job document beyond one
// per dataset (duplicated), none still queued or running after BENCH_TIMEOUT_MS (stuck).
// Writes .bench-results/scale.json and .bench-results/scale.png (BENCH_OUT_DIR). Exits 1 when a
// check fails; the efficiency target (>= 0.8 at 4 workers) is printed as met or not.
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Resvg } from "@resvg/resvg-js";
import { connectNats } from "@skyferry/bus";
import { TransferJobsStream } from "@skyferry/contracts";
import { MongoClient } from "mongodb";
import * as vega from "vega";
import * as vl from "vega-lite";
import { cpuWindow, formatCpu, stackProcesses } from "../support/cpu.ts";
import { CLUSTER_HOST, startNatsCluster } from "../support/nats-cluster.ts";
import { startPrometheus } from "../support/prometheus.ts";
import { api, buildTransferBundle, createS3Bucket, independentS3, removeS3Buckets, sha256, spawnWorker, type WorkerProcess, workerEnv } from "../support/send.ts";
import { stackAuthzConfig, startSendWorld } from "../support/send-system.ts";
import { startSlowLink } from "../support/slow-link.ts";
import { stackEnv, stackOutboundAllow } from "../support/stack-env.ts";
import { emptyBucket, makeFile, median, MiB, ROUNDS, TIMEOUT_MS } from "./shared.ts";
import { checkRun, type RunCheck, verdict } from "./scale-check.ts";

const num = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const COUNTS = (process.env.BENCH_SCALE_WORKERS ?? "1,2,4").split(",").map(Number);
const PER_WORKER = num("BENCH_SCALE_JOBS_PER_WORKER", 60);
const OBJECT = Math.round(num("BENCH_SCALE_OBJECT_MIB", 2) * MiB);
const CONCURRENCY = num("BENCH_SCALE_CONCURRENCY", 2);
const LATENCY_MS = num("BENCH_SCALE_LATENCY_MS", 20);
const LINK = num("BENCH_SCALE_LINK_MIBS", 4) * MiB;
const FAULT_JOBS = num("BENCH_SCALE_FAULT_JOBS", 300);
const OUT = resolve(process.env.BENCH_OUT_DIR ?? join(import.meta.dirname, "../../.bench-results"));
// issue 22 ports, on CLUSTER_HOST: NATS 47100-47122, Prometheus 47599, worker metrics 47600-47699.
// BENCH_SCALE_PORT moves them all (by the same offset) when two checkouts run it at once.
const PORT_SHIFT = Number(process.env.BENCH_SCALE_PORT ?? 47100) - 47100;
const NATS_BASE = 47100 + PORT_SHIFT;
const PROM_PORT = 47599 + PORT_SHIFT;
const metricsPort = (slot: number, i: number) => 47600 + PORT_SHIFT + slot * 10 + i;

interface JobRow { _id: string; state: string; bucket: string; update_time?: Date }
interface ScaleRow { workers: number; round: number; jobs: number; mib: number; seconds: number; mibs: number; promBytes: number; check: RunCheck }

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "skyferry-bench-scale-"));
  const cluster = await startNatsCluster({ dir: join(dir, "nats"), basePort: NATS_BASE });
  const link = await startSlowLink(stackEnv().s3.endpoint, LINK, { perConnection: true, latencyMs: LATENCY_MS });
  const allow = stackOutboundAllow(new URL(link.url).host);
  const slots = COUNTS.length * ROUNDS + 1;
  const targets = Array.from({ length: slots }, (_, s) => Array.from({ length: 5 }, (_, i) => `${CLUSTER_HOST}:${metricsPort(s, i)}`)).flat();
  const prom = await startPrometheus({ dir: join(dir, "prometheus"), host: CLUSTER_HOST, port: PROM_PORT, targets });
  const world = await startSendWorld({
    label: "bench-scale",
    nats: { url: cluster.url, caFile: cluster.caFile },
    authzEnv: { SKYFERRY_OUTBOUND_ALLOW: allow },
    transferEnv: { TRANSFER_WORKER_ENABLED: "false", TRANSFER_STREAM_REPLICAS: "3", SKYFERRY_OUTBOUND_ALLOW: allow },
  });
  const mongo = await new MongoClient(stackEnv().mongoUrl).connect();
  const jobs = mongo.db(world.sys.db).collection<JobRow>("transfer_jobs");
  const nc = await connectNats({ url: cluster.url, name: "bench-scale", identity: "operator", credentials: cluster.credentials("operator") });
  const s3 = independentS3();
  const buckets: string[] = [];
  const live: WorkerProcess[] = [];
  let failed = false;
  let faultResult: unknown;
  try {
    buildTransferBundle();
    const spawnOne = async (slot: number, i: number) => {
      const w = await spawnWorker({
        ...workerEnv(world.sys), ...cluster.env(), DATASET_STORE_DIR: world.sys.datasetDir, SKYFERRY_OUTBOUND_ALLOW: allow,
        TRANSFER_CONCURRENCY: String(CONCURRENCY), SKYFERRY_METRICS_PORT: String(metricsPort(slot, i)), SKYFERRY_METRICS_HOST: CLUSTER_HOST,
      }, [], "bundle");
      live.push(w);
      return w;
    };
    const stopAll = async () => {
      await Promise.all(live.map((w) => w.stop()));
      live.length = 0;
    };

    const user = await world.user();
    const authzId = await world.authz(user, "s3", { ...stackAuthzConfig("s3"), endpoint: link.url });
    const hist = await world.history(user, "bench-scale");
    const needed = Math.max(FAULT_JOBS, PER_WORKER * Math.max(...COUNTS));
    const block = randomBytes(MiB); // repeated, made distinct per file by its index (makeFile)
    const datasets: Array<{ id: string; name: string; sha: string; size: number }> = [];
    console.log(`bench:scale — uploading ${needed} datasets of ${(OBJECT / MiB).toFixed(1)} MiB through the gateway…`);
    const batch = Math.max(1, Math.min(100, Math.floor((64 * MiB) / OBJECT)));
    for (let i = 0; i < needed; i += batch) {
      const files = Array.from({ length: Math.min(batch, needed - i) }, (_, j) => ({ name: `f${String(i + j).padStart(4, "0")}.bin`, content: makeFile(i + j, OBJECT, block) }));
      const out = await hist.add(...files);
      out.forEach((d, j) => datasets.push({ id: d.id, name: files[j]!.name, sha: sha256(files[j]!.content), size: OBJECT }));
    }

    /** One send of the first `n` datasets to a new bucket; resolves once every job ended (or timed out). */
    const send = async (n: number, during?: (ended: () => Promise<number>) => Promise<string[]>) => {
      const bucket = `scale-${Date.now().toString(36)}`;
      buckets.push(bucket);
      await createS3Bucket(s3, bucket);
      const chosen = datasets.slice(0, n);
      const { nats: _stackNats, ...servers } = stackProcesses();
      const window = cpuWindow({
        ...servers, ...Object.fromEntries(cluster.nodes.map((n) => [`nats ${n.name}`, n.pid!])), ...Object.fromEntries(live.map((w, i) => [`worker ${i + 1}`, w.pid])),
      });
      const machine = machineCpu();
      const t0 = Date.now();
      const res = await api<{ sent: Array<{ job_id: string }> }>(world.sys.url, "/api/cloud/storage/send", {
        key: user.apiKey, method: "POST", body: { history_id: hist.id, authz_id: authzId, bucket, dataset_ids: chosen.map((d) => d.id) },
      });
      if (res.status !== 200) throw new Error(`send answered ${res.status}: ${JSON.stringify(res.body)}`);
      const postMs = Date.now() - t0;
      const ids = res.body.sent.map((s) => s.job_id);
      const ended = () => jobs.countDocuments({ _id: { $in: ids }, state: { $in: ["ok", "error", "deleted"] } });
      const events = during ? await during(ended) : [];
      for (const deadline = t0 + TIMEOUT_MS; (await ended()) < ids.length && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 200));
      const cpu = window.stop();
      const busy = machine.stop();
      const last = await jobs.find({ _id: { $in: ids } }).sort({ update_time: -1 }).limit(1).next();
      const seconds = ((last?.update_time?.getTime() ?? Date.now()) - t0) / 1000;
      const check = await checkRun({ s3, jobs, bucket, ids, expected: chosen.map((d) => ({ key: d.name, sha: d.sha, size: d.size })) });
      return { bucket, ids, seconds, postMs, check, events, cpu, busy };
    };

    // 1. Scale.
    const rows: ScaleRow[] = [];
    let slot = 0;
    console.log(`\n${CONCURRENCY} jobs at once per worker; ${LATENCY_MS} ms per request and ${LINK / MiB} MiB/s per connection to radosgw; stream at 3 replicas on 3 NATS nodes`);
    console.log("workers  round   jobs     MiB   seconds   MiB/s   POST s   prometheus bytes = moved");
    for (let round = 1; round <= ROUNDS; round++) {
      for (const count of COUNTS) {
        const s = slot++;
        for (let i = 0; i < count; i++) await spawnOne(s, i);
        const run = await send(PER_WORKER * count);
        const { cpu, busy } = run;
        const mine = Array.from({ length: count }, (_, i) => `${CLUSTER_HOST}:${metricsPort(s, i)}`);
        await prom.scrapedAfter(mine, Date.now());
        const promBytes = await prom.scalar(`sum(skyferry_transfer_bytes_total{instance=~"${mine.join("|")}"})`);
        await stopAll();
        const mib = run.check.bytesMoved / MiB;
        rows.push({ workers: count, round, jobs: run.ids.length, mib, seconds: run.seconds, mibs: mib / run.seconds, promBytes, check: run.check });
        const promOk = promBytes === run.check.bytesMoved;
        if (!promOk || !run.check.clean) failed = true;
        console.log(`${String(count).padStart(7)}${String(round).padStart(7)}${String(run.ids.length).padStart(7)}${mib.toFixed(0).padStart(8)}${run.seconds.toFixed(2).padStart(10)}${(mib / run.seconds).toFixed(1).padStart(8)}${(run.postMs / 1000).toFixed(2).padStart(9)}   ${promBytes} ${promOk ? "=" : "≠"} ${run.check.bytesMoved}   ${verdict(run.check)}`);
        console.log(`  CPU s: ${formatCpu(cpu)} ("this process": gateway, authz, history, the planner, the radosgw proxy); the machine's ${busy.cores} cores ${(busy.busy * 100).toFixed(0)} % busy (steal ${(busy.steal * 100).toFixed(0)} %)`);
        await emptyBucket(s3, run.bucket);
      }
    }
    const one = median(rows.filter((r) => r.workers === 1).map((r) => r.mibs));
    const summary = COUNTS.map((count) => {
      const mibs = median(rows.filter((r) => r.workers === count).map((r) => r.mibs))!;
      return { workers: count, mibs, efficiency: one ? mibs / (count * one) : NaN };
    });
    console.log(`\nmedian of ${ROUNDS} rounds\n| workers | MiB/s | efficiency |\n|---:|---:|---:|`);
    for (const r of summary) console.log(`| ${r.workers} | ${r.mibs.toFixed(1)} | ${r.efficiency.toFixed(2)} |`);
    const at4 = summary.find((r) => r.workers === 4);
    if (at4) console.log(`target: efficiency >= 0.8 at 4 workers: ${at4.efficiency >= 0.8 ? "met" : "NOT met"} (${at4.efficiency.toFixed(2)})`);

    // 2. Faults, during one send.
    if (FAULT_JOBS > 0) await faults(slot++);
    async function faults(fs: number): Promise<void> {
      await spawnOne(fs, 0);
      await spawnOne(fs, 1);
      const killed = live[0]!;
      const t0 = Date.now();
      const late: string[] = [];
      const at = (p: number) => Math.ceil(FAULT_JOBS * p);
      const fault = await send(FAULT_JOBS, async (ended) => {
        const events: string[] = [];
        const mark = async (what: string) => {
          const n = await ended();
          // A fault after the last job ended tests nothing: the run does not count then.
          if (n >= FAULT_JOBS) late.push(what);
          events.push(`${((Date.now() - t0) / 1000).toFixed(1)} s, ${n} jobs ended: ${what}`);
        };
        const reach = async (n: number) => {
          for (const deadline = Date.now() + TIMEOUT_MS; (await ended()) < n && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 50));
        };
        await reach(at(0.1));
        await spawnOne(fs, 2);
        await mark("worker 3 joined");
        await reach(at(0.3));
        killed.child.kill("SIGKILL");
        await mark(`worker 1 (pid ${killed.pid}) killed with SIGKILL`);
        await reach(at(0.45));
        // The node leading the work consumer: the workers' pull requests wait there.
        const jsm = await nc.jetstreamManager();
        const streamLeader = (await jsm.streams.info(TransferJobsStream.name(world.sys.namespace))).cluster?.leader;
        const leader = (await jsm.consumers.info(TransferJobsStream.name(world.sys.namespace), "transfer-workers")).cluster?.leader;
        const node = cluster.nodes.find((n) => n.name === leader) ?? cluster.nodes[0]!;
        await node.kill();
        await mark(`NATS node ${node.name} (leading the consumer; the stream's leader: ${streamLeader}) killed`);
        await reach(at(0.7));
        await node.start();
        await mark(`NATS node ${node.name} started again`);
        return events;
      });
      const survivors = [1, 2].map((i) => `${CLUSTER_HOST}:${metricsPort(fs, i)}`);
      await prom.scrapedAfter(survivors, Date.now());
      const promSurvivors = await prom.scalar(`sum(skyferry_transfer_bytes_total{instance=~"${survivors.join("|")}"})`);
      // The killed worker's counter as last scraped: jobs it ended after that scrape died with it.
      const promKilled = await prom.scalar(`max(max_over_time(skyferry_transfer_bytes_total{instance="${CLUSTER_HOST}:${metricsPort(fs, 0)}"}[1h]))`);
      await cluster.healthy();
      const stream = await (await nc.jetstreamManager()).streams.info(TransferJobsStream.name(world.sys.namespace));
      console.log(`\nfaults during one send of ${FAULT_JOBS} x ${(OBJECT / MiB).toFixed(1)} MiB (2 workers at the start):`);
      for (const e of fault.events) console.log(`  ${e}`);
      console.log(`  all ended after ${fault.seconds.toFixed(1)} s: ${verdict(fault.check)}`);
      console.log(`  work stream after: ${stream.state.messages} messages, leader ${stream.cluster?.leader}, replicas ${JSON.stringify(stream.cluster?.replicas?.map((r) => `${r.name}:${r.current ? "current" : "behind"}`))}`);
      console.log(`  prometheus: survivors ${promSurvivors} + killed worker's last scrape ${promKilled} = ${promSurvivors + promKilled} of ${fault.check.bytesMoved} bytes moved (the difference: jobs the killed worker ended after its last scrape)`);
      if (late.length > 0) console.log(`  NOT A FAULT RUN: ${late.join("; ")} came after every job had ended (raise BENCH_SCALE_FAULT_JOBS)`);
      if (late.length > 0 || !fault.check.clean || stream.state.messages !== 0 || promSurvivors + promKilled > fault.check.bytesMoved) failed = true;
      await stopAll();
      await emptyBucket(s3, fault.bucket);
      faultResult = { jobs: FAULT_JOBS, seconds: fault.seconds, events: fault.events, check: fault.check, promSurvivors, promKilled };
    }

    mkdirSync(OUT, { recursive: true });
    const settings = { concurrency: CONCURRENCY, object_mib: OBJECT / MiB, latency_ms: LATENCY_MS, link_mibs: LINK / MiB, jobs_per_worker: PER_WORKER, rounds: ROUNDS };
    writeFileSync(join(OUT, "scale.json"), `${JSON.stringify({ date: new Date().toISOString(), settings, rows, summary, fault: faultResult }, null, 2)}\n`);
    await plot(rows, summary, join(OUT, "scale.png"));
    console.log(`\nwrote ${join(OUT, "scale.json")} and ${join(OUT, "scale.png")}`);
  } finally {
    await Promise.all(live.map((w) => w.stop()));
    await removeS3Buckets(s3, buckets);
    s3.destroy();
    await nc.close();
    await mongo.close();
    await world.close();
    await prom.close();
    await link.close();
    await cluster.close();
  }
  if (failed) {
    console.error("bench:scale: a check failed (see above)");
    process.exitCode = 1;
  }
}

/** How busy the whole machine was (every process, ours or not) between now and stop(). */
function machineCpu(): { stop(): { cores: number; busy: number; steal: number } } {
  const read = () => {
    const f = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
    const idle = f[3]! + f[4]!;
    const total = f.reduce((a, b) => a + b, 0);
    return { idle, total, steal: f[7] ?? 0 };
  };
  const a = read();
  return {
    stop() {
      const b = read();
      const total = b.total - a.total;
      return { cores: cpus().length, busy: total > 0 ? 1 - (b.idle - a.idle) / total : 0, steal: total > 0 ? (b.steal - a.steal) / total : 0 };
    },
  };
}

async function plot(rows: ScaleRow[], summary: Array<{ workers: number; mibs: number; efficiency: number }>, file: string): Promise<void> {
  const x: { field: string; type: "quantitative"; scale: { domain: number[] }; axis: { values: number[] }; title: string } =
    { field: "workers", type: "quantitative", scale: { domain: [0, Math.max(...COUNTS)] }, axis: { values: COUNTS }, title: "transfer worker processes" };
  const spec: vl.TopLevelSpec = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: `bench:scale — ${CONCURRENCY} jobs per worker, ${(OBJECT / MiB).toFixed(1)} MiB objects, ${LATENCY_MS} ms per request, ${LINK / MiB} MiB/s per connection`,
    background: "white",
    hconcat: [
      {
        width: 320, height: 260,
        layer: [
          { data: { values: rows.map((r) => ({ workers: r.workers, mibs: r.mibs })) }, mark: { type: "point", opacity: 0.5 }, encoding: { x, y: { field: "mibs", type: "quantitative", title: "MiB/s (dots: rounds; line: median; dashed: linear)" } } },
          { data: { values: summary }, mark: { type: "line", point: true }, encoding: { x, y: { field: "mibs", type: "quantitative" } } },
          { data: { values: summary.map((s) => ({ workers: s.workers, ideal: s.workers * (summary[0]?.mibs ?? 0) })) }, mark: { type: "line", strokeDash: [4, 4], color: "gray" }, encoding: { x, y: { field: "ideal", type: "quantitative" } } },
        ],
      },
      {
        width: 320, height: 260,
        layer: [
          { data: { values: summary }, mark: { type: "line", point: true }, encoding: { x, y: { field: "efficiency", type: "quantitative", scale: { domain: [0, 1.2] }, title: "efficiency (throughput / (workers × 1-worker))" } } },
          { data: { values: [{ target: 0.8 }] }, mark: { type: "rule", color: "red", strokeDash: [4, 4] }, encoding: { y: { field: "target", type: "quantitative" } } },
        ],
      },
    ],
  };
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: "none" });
  writeFileSync(file, new Resvg(await view.toSVG(), { background: "white", font: { loadSystemFonts: true } }).render().asPng());
}

await main();
