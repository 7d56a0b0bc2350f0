// `npm run bench:chaos` (issue 25): random fault schedules over sends of many small datasets, on
// the real services, each schedule from a fixed seed (printed: CHAOS_FIRST_SEED=<n> CHAOS_SEEDS=1
// replays one). Faults, drawn per seed: provider faults through the fault proxy in front of
// radosgw (test/support/fault-proxy.ts: 5xx, SlowDown, 429, resets, stalls, lost answers; a burst,
// then a rate for a while), the FerretDB every service uses killed (SIGKILL) for 2-5 s, the NATS
// server killed (SIGKILL) for 2-5 s and started again on its store, a transfer worker process
// killed (SIGKILL) and another started 1-3 s later. Provider faults overlap the others; the
// process faults come one after the other, each once a share of the seed's jobs (drawn) is final,
// so that they land in the middle of the work. Every request to radosgw takes CHAOS_LATENCY_MS
// (50) more through the proxy, a provider some way off: the work lasts a few seconds. FerretDB and NATS are the bench's own
// (private-ferretdb.ts, private-nats.ts): nothing of the stack's is killed.
// Per seed: jobs ok / error, lost (a job ok without its object, or with other bytes), duplicated
// (an object no dataset planned: a second copy), stranded (not final 180 s after the last fault),
// multipart uploads left, messages terminated, when each fault began and ended (seconds from the
// send) with the jobs final as it began, how soon work resumed after each fault (its end to the
// next job to end; "after the work" for a fault that began once all were final, which tests
// nothing), the seed's work time (send to last job's end), and the settle time: from the end of
// the last fault until every job is final. Exits 1 on any lost, duplicated or stranded job.
// CHAOS_SEEDS (20), CHAOS_JOBS (200), CHAOS_FIRST_SEED (1), CHAOS_WORKERS (2),
// CHAOS_FAULTS=provider,ferretdb,nats,worker (all), CHAOS_PROXY_PORT (46100),
// CHAOS_NATS_PORT (46222; its monitor port +600), CHAOS_LATENCY_MS (50), CHAOS_LOG_DIR (each
// seed's worker and service logs). Needs the stack with FerretDB on PostgreSQL.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { IncomingMessage } from "node:http";
import { GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { MongoClient } from "mongodb";
import { seededRandom, startFaultProxy } from "../support/fault-proxy.ts";
import { privateFerretDbUnavailable, startPrivateFerretDb } from "../support/private-ferretdb.ts";
import { startPrivateNats } from "../support/private-nats.ts";
import { api, buildTransferBundle, createS3Bucket, independentS3, removeS3Buckets, s3MultipartUploads, sha256, spawnWorker, type WorkerProcess, workerEnv } from "../support/send.ts";
import { stackAuthzConfig, startSendWorld } from "../support/send-system.ts";
import { stackEnv, stackOutboundAllow } from "../support/stack-env.ts";

const MiB = 1024 * 1024;
const SEEDS = Number(process.env.CHAOS_SEEDS ?? 20);
const JOBS = Number(process.env.CHAOS_JOBS ?? 200);
const FIRST_SEED = Number(process.env.CHAOS_FIRST_SEED ?? 1);
const WORKERS = Number(process.env.CHAOS_WORKERS ?? 2);
const FAULTS = new Set((process.env.CHAOS_FAULTS ?? "provider,ferretdb,nats,worker").split(",").map((s) => s.trim()));
const PROXY_PORT = Number(process.env.CHAOS_PROXY_PORT ?? 46100);
const NATS_PORT = Number(process.env.CHAOS_NATS_PORT ?? 46222);
// 400 ms per request: the work lasts long enough (~20-30 s a seed) that the process faults, a few
// seconds each and one after the other, land in it rather than after it.
const LATENCY_MS = Number(process.env.CHAOS_LATENCY_MS ?? 400);
const SETTLE_LIMIT_MS = 180_000;
/** CHAOS_LOG_DIR: each seed's worker and service logs are written there. */
const LOG_DIR = process.env.CHAOS_LOG_DIR;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A process fault begins once `atFraction` of the seed's jobs are final (mid-work, whatever the machine's speed), or when all are. */
type ProcessFault = { kind: "ferretdb" | "nats" | "worker"; atFraction: number; downMs: number };
interface Schedule { provider?: { startMs: number; durationMs: number; burst: number; rate: number }; steps: ProcessFault[] }

/** A seed's schedule: what is faulted, when and for how long. The same seed gives the same schedule. */
function schedule(seed: number): Schedule {
  const r = seededRandom(seed * 7919);
  const between = (a: number, b: number) => Math.round(a + r() * (b - a));
  const kinds = (["ferretdb", "nats", "worker"] as const).filter((k) => FAULTS.has(k));
  const steps = kinds.length === 0 ? [] : Array.from({ length: between(1, 3) }, () => {
    const kind = kinds[Math.floor(r() * kinds.length)]!;
    return { kind, atFraction: between(2, 70) / 100, downMs: kind === "worker" ? between(1000, 3000) : between(2000, 5000) };
  }).sort((a, b) => a.atFraction - b.atFraction);
  const provider = FAULTS.has("provider") ? { startMs: between(0, 1500), durationMs: between(2000, 6000), burst: between(3, 10), rate: between(5, 30) / 100 } : undefined;
  return { ...(provider ? { provider } : {}), steps };
}

const describeSchedule = (s: Schedule) =>
  [s.provider ? `provider ${s.provider.rate} for ${s.provider.durationMs} ms after a burst of ${s.provider.burst}` : "", ...s.steps.map((f) => `${f.kind} ${f.downMs} ms at ${Math.round(f.atFraction * 100)} %`)].filter(Boolean).join("; ");

/** Dataset i: 64 KiB (one PUT), every 33rd 6 MiB (multipart: 5 MiB parts). */
const sizeOf = (i: number) => (i % 33 === 32 ? 6 * MiB : 64 * 1024);

async function main(): Promise<void> {
  const unavailable = privateFerretDbUnavailable();
  if (unavailable) throw new Error(`bench:chaos needs the stack's FerretDB on PostgreSQL: ${unavailable}`);
  console.log(`bench:chaos: ${SEEDS} seeds from ${FIRST_SEED}, ${JOBS} jobs each, ${WORKERS} workers, faults ${[...FAULTS].join(",")}`);
  const ferret = await startPrivateFerretDb();
  const nats = await startPrivateNats({ port: NATS_PORT, monitor: NATS_PORT + 600 });
  // The services, the workers and provisioning are given the private servers explicitly. (Setting
  // process.env here once did nothing: stackEnv() had already cached the stack's, when
  // startPrivateNats read its keys, so the faults killed servers nobody used.)
  const privateServers = { MONGO_URL: ferret.url, SKYFERRY_NATS_URL: nats.url };
  const env = stackEnv();
  const objectLevel = (req: IncomingMessage) => new URL(req.url ?? "/", "http://x").pathname.split("/").filter(Boolean).length >= 2;
  const proxy = await startFaultProxy({ target: env.s3.endpoint, flavor: "s3", seed: FIRST_SEED, rate: 0, only: objectLevel, stallMs: 1500, port: PROXY_PORT, latencyMs: LATENCY_MS });
  const allow = stackOutboundAllow(proxy.host);
  const liveness = { TRANSFER_HEARTBEAT_SECONDS: "1", TRANSFER_STALE_SECONDS: "5", TRANSFER_RETRY_MAX_DELAY_MS: "2000", TRANSFER_ACK_WAIT_SECONDS: "10" };
  const world = await startSendWorld({
    label: "bench-chaos",
    allEnv: privateServers,
    authzEnv: { SKYFERRY_OUTBOUND_ALLOW: allow },
    transferEnv: { ...liveness, TRANSFER_WORKER_ENABLED: "false", TRANSFER_RECONCILE_SECONDS: "1", SKYFERRY_OUTBOUND_ALLOW: allow },
  });
  const workerVars = { ...workerEnv(world.sys), ...privateServers, ...liveness, DATASET_STORE_DIR: world.sys.datasetDir, SKYFERRY_OUTBOUND_ALLOW: allow, TRANSFER_RECONCILE_SECONDS: "0", TRANSFER_CONCURRENCY: "4", TRANSFER_SINGLE_PUT_MAX_MB: "1", TRANSFER_PART_SIZE_MB: "5" };
  buildTransferBundle();
  const workers: WorkerProcess[] = [];
  for (let i = 0; i < WORKERS; i++) workers.push(await spawnWorker(workerVars, [], "bundle"));
  const retired: WorkerProcess[] = [];
  const mongo = new MongoClient(ferret.url, { serverSelectionTimeoutMS: 1000 });
  // The faults must hit what the system uses: every service and worker is connected to the private
  // NATS (its monitor counts them), and the bench reads the jobs the services write (below).
  const connz = (await (await fetch(`http://127.0.0.1:${NATS_PORT + 600}/connz?subs=0`)).json()) as { num_connections: number };
  if (connz.num_connections < 4 + WORKERS) throw new Error(`the private NATS has ${connz.num_connections} connections, not the ${4 + WORKERS} services and workers: the faults would hit nothing`);
  const rows: string[] = [];
  let bad = 0;
  try {
    const user = await world.user();
    const authzId = await world.authz(user, "s3", { ...stackAuthzConfig("s3"), endpoint: proxy.url });
    console.log("| seed | schedule | faults (s from the send: began-ended, jobs final as it began) | jobs ok / error | lost | duplicated | stranded | uploads left | terminated | provider faults | work resumed after each fault | work | settle after last fault |");
    console.log("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (let seed = FIRST_SEED; seed < FIRST_SEED + SEEDS; seed++) {
      const plan = schedule(seed);
      const bucket = `chaos-${seed}-${randomBytes(3).toString("hex")}`;
      await createS3Bucket(independentS3(), bucket);
      const hist = await world.history(user, bucket);
      const digests = new Map<string, string>();
      for (let i = 0; i < JOBS; i += 100) {
        const files = Array.from({ length: Math.min(100, JOBS - i) }, (_, j) => ({ name: `d${String(i + j).padStart(4, "0")}.bin`, content: randomBytes(sizeOf(i + j)) }));
        await hist.add(...files);
        for (const f of files) digests.set(f.name, sha256(f.content));
      }
      proxy.reseed(seed);
      const before = proxy.stats();
      const faultsFrom = proxy.faulted().length;
      const sysFrom = world.sys.logs.lines.length;
      // Where each worker's log stood when the seed began (a worker started since: from its start).
      const logFrom = new Map([...workers, ...retired].map((w) => [w, w.logs.length]));
      const seedLogs = () => [...workers, ...retired].flatMap((w) => w.logs.slice(logFrom.get(w) ?? 0));
      const sentAt = Date.now();
      /** Each fault's window (wall clock, as the jobs' update_time) and the jobs final as it began. */
      const windows: Array<{ kind: string; from: number; to: number; finalAtStart: number }> = [];
      const res = await api<{ sent: Array<{ job_id: string }> }>(world.sys.url, "/api/cloud/storage/send", { key: user.apiKey, method: "POST", body: { history_id: hist.id, authz_id: authzId, bucket } });
      if (res.status !== 200 || res.body.sent.length !== JOBS) throw new Error(`seed ${seed}: the send answered ${res.status}: ${JSON.stringify(res.body).slice(0, 500)}`);
      const sentIds = res.body.sent.map((x) => x.job_id);

      const jobs = mongo.db(world.sys.db).collection<{ _id: string; state: string; object_key: string; error?: { code: string } | null; history_id: string; update_time: Date }>("transfer_jobs");
      let final = 0;
      let countFailed: unknown;
      const countFinal = async () =>
        (final = await jobs.countDocuments({ history_id: hist.id, state: { $in: ["ok", "error", "deleted"] } }).catch((err: unknown) => {
          countFailed ??= err; // the database is down (a fault) or the bench cannot read it: said below
          return final;
        }));
      if ((await jobs.countDocuments({ _id: { $in: sentIds } })) !== JOBS) throw new Error(`seed ${seed}: the bench does not see the jobs the send made in the private FerretDB: the faults would hit nothing`);
      // The faults: the provider's window beside the process faults, one after the other.
      const provider = plan.provider
        ? (async () => {
            await sleep(plan.provider!.startMs);
            const from = Date.now();
            const finalAtStart = final;
            proxy.burst(plan.provider!.burst);
            proxy.setRate(plan.provider!.rate);
            await sleep(plan.provider!.durationMs);
            proxy.setRate(0);
            windows.push({ kind: "provider", from, to: Date.now(), finalAtStart });
          })()
        : Promise.resolve();
      const began: number[] = [];
      for (const step of plan.steps) {
        // A run that stops progressing still gets its faults (and shows as stranded below).
        for (const giveUp = performance.now() + 60_000; (await countFinal()) < Math.ceil(step.atFraction * JOBS) && performance.now() < giveUp; ) await sleep(20);
        began.push(final);
        const from = Date.now();
        if (step.kind === "ferretdb") {
          await ferret.kill();
          await sleep(step.downMs);
          await ferret.start();
        } else if (step.kind === "nats") {
          await nats.kill();
          await sleep(step.downMs);
          await nats.start();
        } else {
          const victim = workers.splice(Math.floor(seededRandom(seed)() * workers.length), 1)[0]!;
          victim.child.kill("SIGKILL");
          retired.push(victim);
          await sleep(step.downMs);
          workers.push(await spawnWorker(workerVars, [], "bundle"));
        }
        windows.push({ kind: step.kind, from, to: Date.now(), finalAtStart: began.at(-1)! });
      }
      await provider;
      const lastFault = performance.now();

      // Settled: every job final (read straight from the database, which may just be back).
      let open = JOBS;
      for (const deadline = lastFault + SETTLE_LIMIT_MS; performance.now() < deadline; await sleep(250)) {
        open = await jobs.countDocuments({ history_id: hist.id, state: { $in: ["new", "queued", "running"] } }).catch(() => open);
        if (open === 0) break;
      }
      const settleMs = Math.round(performance.now() - lastFault);
      const docs = await jobs.find({ history_id: hist.id }).toArray();
      const endedAt = docs.filter((d) => ["ok", "error", "deleted"].includes(d.state)).map((d) => d.update_time.getTime()).sort((a, b) => a - b);
      const secs = (ms: number) => (ms / 1000).toFixed(1);
      const faultsCell = windows.sort((a, b) => a.from - b.from).map((w) => `${w.kind} ${secs(w.from - sentAt)}-${secs(w.to - sentAt)} (${w.finalAtStart})`).join("; ");
      const resumedCell = windows
        .map((w) => {
          if (w.finalAtStart >= JOBS || (endedAt.at(-1) ?? 0) < w.from) return `${w.kind}: after the work`;
          const next = endedAt.find((t) => t > w.to);
          return next === undefined ? `${w.kind}: the work had ended during it` : `${w.kind} ${secs(next - w.to)}`;
        })
        .join("; ");
      const workCell = endedAt.length ? `${secs(endedAt.at(-1)! - sentAt)} s` : "-";
      if (countFailed && final === 0) console.log(`  seed ${seed}: the bench could not count final jobs before the faults (${String(countFailed).slice(0, 300)})`);
      const ok = docs.filter((d) => d.state === "ok");
      const errors = docs.filter((d) => d.state === "error");
      const listed = new Set<string>();
      for (let token: string | undefined, first = true; first || token; first = false) {
        const page = await independentS3().send(new ListObjectsV2Command({ Bucket: bucket, ...(token ? { ContinuationToken: token } : {}) }));
        for (const o of page.Contents ?? []) listed.add(o.Key!);
        token = page.NextContinuationToken;
      }
      let lost = JOBS - docs.length;
      for (const d of ok) {
        if (!listed.has(d.object_key)) lost++;
        else if (sha256(Buffer.from(await (await independentS3().send(new GetObjectCommand({ Bucket: bucket, Key: d.object_key }))).Body!.transformToByteArray())) !== digests.get(d.object_key)) lost++;
      }
      const duplicated = [...listed].filter((k) => !digests.has(k)).length;
      const stranded = docs.length - ok.length - errors.length;
      const uploads = (await s3MultipartUploads(independentS3(), bucket)).length;
      const terminated = seedLogs().filter((l) => l.includes("terminated")).length;
      const after = proxy.stats();
      const faults = Object.entries(after.faults).filter(([k]) => k !== "permanent").reduce((n, [k, v]) => n + v - before.faults[k as keyof typeof before.faults], 0);
      const errorCodes = [...new Set(errors.map((e) => e.error?.code ?? "?"))].join(",");
      const row = `| ${seed} | ${describeSchedule(plan)} | ${faultsCell || "-"} | ${ok.length} / ${errors.length}${errorCodes ? ` (${errorCodes})` : ""} | ${lost} | ${duplicated} | ${stranded} | ${uploads} | ${terminated} | ${faults} of ${after.requests - before.requests} requests | ${resumedCell || "-"} | ${workCell} | ${stranded ? `not settled after ${SETTLE_LIMIT_MS / 1000} s` : `${(settleMs / 1000).toFixed(1)} s`} |`;
      console.log(row);
      for (const e of errors.slice(0, 5)) {
        const lines = seedLogs().filter((l) => l.includes(e._id) && /"level":(40|50)/.test(l));
        console.log(`  seed ${seed}: job ${e._id} error ${JSON.stringify(e.error)}\n    ${lines.slice(-3).map((l) => l.slice(0, 1500)).join("\n    ")}`);
      }
      if (terminated) {
        const lines = seedLogs().filter((l) => l.includes("terminated"));
        console.log(`  seed ${seed}: terminated:\n    ${lines.slice(0, 3).map((l) => l.slice(0, 2500)).join("\n    ")}`);
      }
      if (errors.length) {
        const internal = world.sys.logs.lines.slice(sysFrom).filter((l) => /"level":50/.test(l));
        console.log(`  seed ${seed}: the services' errors:\n    ${internal.slice(0, 5).map((l) => l.slice(0, 1500)).join("\n    ")}`);
      }
      if (uploads) console.log(`  seed ${seed}: uploads left ${JSON.stringify(await s3MultipartUploads(independentS3(), bucket))}; lost answers: ${JSON.stringify(proxy.faulted().slice(faultsFrom).filter((f) => f.startsWith("lost-answer")))}`);
      rows.push(row);
      if (LOG_DIR) {
        mkdirSync(LOG_DIR, { recursive: true });
        writeFileSync(join(LOG_DIR, `seed-${seed}-workers.log`), seedLogs().join("\n"));
        writeFileSync(join(LOG_DIR, `seed-${seed}-services.log`), world.sys.logs.lines.slice(sysFrom).join("\n"));
      }
      if (lost || duplicated || stranded) bad++;
      await removeS3Buckets(independentS3(), [bucket]);
      try {
        execFileSync("bash", ["scripts/stack.sh", "gc"], { cwd: new URL("../..", import.meta.url).pathname, stdio: "ignore" });
      } catch {
        // radosgw's GC is housekeeping: the next seed runs without it
      }
    }
  } finally {
    await mongo.close().catch(() => undefined);
    for (const w of workers) await w.stop();
    await world.close().catch(() => undefined);
    await proxy.close();
    await nats.close();
    await ferret.close();
  }
  console.log(bad ? `\n${bad} of ${SEEDS} seeds lost, duplicated or stranded jobs` : `\nall ${SEEDS} seeds: 0 lost, 0 duplicated, 0 stranded`);
  process.exit(bad ? 1 : 0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(2);
});
