// `npm run bench:db`: what each hot database operation of the services costs as the collections
// grow, on the embedded default (the stack's FerretDB on PostgreSQL) beside FerretDB on SQLite (the
// former default, started here), through the services' own repositories (not hand-written queries).
// Needs the stack (`npm run stack -- up`). Not part of `npm test`.
//
// For each size (BENCH_DB_SIZES, default 1000,10000,100000 documents per collection) a fresh
// database gets that many transfer jobs (20 users, 90 % finished) and a history holding that many
// items, then each operation runs BENCH_DB_REPS times (default 40; batch operations fewer) and its
// p50 and p99 are printed as a table. SQLite is measured up to BENCH_DB_SQLITE_MAX documents (10000:
// beyond that one operation takes seconds). BENCH_DB_BACKENDS=postgresql,sqlite picks backends.
// Writes .bench-results/db.json and .bench-results/db.png (cost against size, log-log; BENCH_OUT_DIR).
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { homedir, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Resvg } from "@resvg/resvg-js";
import { connectMongo, ensureIndexes, type Mongo } from "@skyferry/db";
import type { DatasetStore } from "@skyferry/dataset-store";
import { createDatasetRepository, createFinisher, DATASET_INDEXES, type DatasetDoc, HID_COUNTERS, HISTORY_INDEXES, hidBlock } from "@skyferry/history/db";
import { createLogger } from "@skyferry/logger";
import { createJobRepository, JOB_INDEXES, type JobDoc } from "@skyferry/transfer/db";
import * as vega from "vega";
import * as vl from "vega-lite";
import { stackEnv } from "../support/stack-env.ts";

const SIZES = (process.env.BENCH_DB_SIZES ?? "1000,10000,100000").split(",").map(Number);
const REPS = Number(process.env.BENCH_DB_REPS ?? 40);
const SQLITE_MAX = Number(process.env.BENCH_DB_SQLITE_MAX ?? 10_000);
const BACKENDS = new Set((process.env.BENCH_DB_BACKENDS ?? "postgresql,sqlite").split(","));
const OUT = resolve(process.env.BENCH_OUT_DIR ?? join(import.meta.dirname, "../../.bench-results"));
const USERS = 20;
const logger = createLogger({ name: "bench-db", level: "warn" });

interface Row { backend: string; size: number; op: string; p50: number; p99: number; reps: number }

const hex = (n: number) => randomBytes(n).toString("hex");
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

function jobDoc(i: number, over: Partial<JobDoc> = {}): JobDoc {
  const t = new Date(Date.UTC(2026, 0, 1) + i * 1000);
  const finished = i % 10 !== 0;
  return {
    _id: hex(8), dedupe_key: `dk-${i}-${hex(4)}`, idempotency_key: hex(4), user_id: `user${String(i % USERS).padStart(12, "0")}`,
    history_id: `hist${String(i % 50).padStart(12, "0")}`, dataset_id: hex(8), hid: i + 1, dataset_name: `rep${i}.bed`, store_key: `ab/cd/${hex(8)}`,
    authz_id: hex(8), provider: "s3", bucket: "bench", planned_key: `rep${i}.bed`, object_key: `rep${i}.bed`, overwrite_policy: "rename",
    storage_class: null, metadata: {}, state: finished ? "ok" : "queued", outcome: finished ? "uploaded" : null, bytes_total: 102_400,
    bytes_done: finished ? 102_400 : 0, checksum: { sha256: "a".repeat(64), md5: "b".repeat(32) }, attempts: finished ? 1 : 0, retries: 0,
    error: null, upload: null, worker: null, create_time: t, update_time: t, ...over,
  };
}

function itemDoc(historyId: string, userId: string, hid: number, over: Partial<DatasetDoc> = {}): DatasetDoc {
  const t = new Date(Date.UTC(2026, 0, 1) + hid * 1000);
  const id = hex(8);
  return {
    _id: id, dataset_id: hex(8), history_id: historyId, user_id: userId, hid, hid_block: hidBlock(hid), name: `rep${hid}.bed`, extension: "bed", state: "ok",
    deleted: false, purged: false, visible: true, tags: [], annotation: null, genome_build: null, misc_info: "uploaded file",
    misc_blurb: "100 KB", peek: "chr1\t1\t100", file_size: 102_400, sha256: "a".repeat(64), md5: "b".repeat(32), store_key: `ab/cd/${id}`,
    uuid: crypto.randomUUID(), created_from_basename: `rep${hid}.bed`, source_uri: null, create_time: t, update_time: t, ...over,
  } as DatasetDoc;
}

async function insertAll<T extends { _id: string }>(m: Mongo, collection: string, n: number, make: (i: number) => T): Promise<void> {
  const col = m.db.collection<T>(collection);
  for (let i = 0; i < n; i += 1000) {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the driver's OptionalUnlessRequiredId<T> for a generic T
    await col.insertMany(Array.from({ length: Math.min(1000, n - i) }, (_, j) => make(i + j)) as any[], { ordered: false });
  }
}

async function measure(reps: number, op: (i: number) => Promise<unknown>): Promise<number[]> {
  await op(-1); // warm-up (connections, plans)
  const out: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    await op(i);
    out.push(performance.now() - t);
  }
  return out;
}

async function benchOne(backend: string, url: string, size: number): Promise<Row[]> {
  const m = await connectMongo({ url, dbName: `bench_db_${hex(4)}`, logger });
  const rows: Row[] = [];
  try {
    await ensureIndexes(m.db, { ...JOB_INDEXES, datasets: DATASET_INDEXES, histories: HISTORY_INDEXES });
    const t0 = performance.now();
    await insertAll(m, "transfer_jobs", size, (i) => jobDoc(i));
    const bigHistory = `bighist${hex(4)}`;
    const owner = `user${"0".repeat(12)}`;
    await insertAll(m, "datasets", size, (i) => itemDoc(bigHistory, owner, i + 1));
    // The history's hid counter, as uploads and imports leave it (contents pages walk its hid blocks).
    await m.db.collection<{ _id: string; last: number }>(HID_COUNTERS).insertOne({ _id: bigHistory, last: size });
    const seedS = (performance.now() - t0) / 1000;
    console.log(`  ${backend} ${size}: seeded ${size} jobs + ${size} history items in ${seedS.toFixed(1)} s`);
    const jobs = createJobRepository(m.db);
    const datasets = createDatasetRepository(m.db);
    const noStore = { delete: async () => undefined } as unknown as DatasetStore;
    const finisher = createFinisher({ datasets, store: noStore, logger, now: () => new Date() });
    const row = (op: string, samples: number[]) => {
      const r = { backend, size, op, p50: pct(samples, 50), p99: pct(samples, 99), reps: samples.length };
      rows.push(r);
      console.log(`  ${backend.padEnd(10)} ${String(size).padStart(6)}  ${op.padEnd(34)} p50 ${r.p50.toFixed(1).padStart(7)} ms   p99 ${r.p99.toFixed(1).padStart(7)} ms`);
    };
    // Jobs a send plans: one batch insert of 100.
    let batchNo = 0;
    row("insert a batch of 100 jobs", await measure(Math.max(3, REPS / 8), async () => {
      batchNo++;
      await jobs.insertManyOrFind(Array.from({ length: 100 }, (_, i) => jobDoc(size + batchNo * 100 + i, { state: "queued", outcome: null, attempts: 0, bytes_done: 0 })));
    }));
    // A worker's life of one job: claim, progress, finish, on fresh queued jobs.
    const fresh = (await jobs.insertManyOrFind(Array.from({ length: REPS + 1 }, (_, i) => jobDoc(size * 10 + i, { state: "queued", outcome: null, attempts: 0, bytes_done: 0 })))).map((r) => r.doc._id);
    const at = (i: number) => fresh[i + 1]!;
    row("claim a job", await measure(REPS, (i) => jobs.claim(at(i), "w1", "send", "bench", new Date(0))));
    row("record a job's progress", await measure(REPS, (i) => jobs.progress(at(i), 50_000)));
    row("finish a job (ok)", await measure(REPS, (i) => jobs.complete(at(i), { object_key: `k${i}`, outcome: "uploaded", bytes_done: 102_400 })));
    row("check a cancel (batched read)", await measure(REPS, (i) => jobs.isCancelled(at(i))));
    const user = (i: number) => `user${String(Math.abs(i) % USERS).padStart(12, "0")}`;
    const some = jobDoc(7);
    row("a job by id (GET /api/jobs/{id})", await measure(REPS, () => jobs.getOwned(fresh[0]!, some.user_id)));
    row("a page of a user's jobs (50)", await measure(REPS, (i) => jobs.list(user(i), { limit: 50 })));
    // History: a page of the big history's contents, an upload's new item, an import batch.
    row("a page of a history's contents (100)", await measure(REPS, (i) => datasets.listOfHistory(bigHistory, {}, { limit: 100, offset: Math.max(0, i) * 100 % size })));
    row("add an item to the history (upload)", await measure(REPS, async () => {
      const { hid: _hid, ...doc } = itemDoc(bigHistory, owner, 0);
      await datasets.insertWithNextHid(doc);
    }));
    const importing = Array.from({ length: (REPS / 4 + 1) * 20 }, (_, i) => itemDoc(bigHistory, owner, size * 10 + i, { state: "queued", imported: true }));
    await m.db.collection<DatasetDoc>("datasets").insertMany(importing);
    row("finish an import batch (20 items)", await measure(Math.max(3, REPS / 4), async (i) => {
      const items = importing.slice((i + 1) * 20, (i + 2) * 20);
      await finisher.finishBatch(items.map((d) => ({ actor: { user_id: owner }, item_id: d._id, store_key: d.store_key, ext: "bed", size: 102_400, sha256: "c".repeat(64), md5: "d".repeat(32) })));
    }));
  } finally {
    await m.db.dropDatabase().catch(() => undefined);
    await m.close();
  }
  return rows;
}

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
    s.on("error", rej);
  });
}

/** FerretDB on SQLite, for the comparison: the stack's binary, a fresh data folder. */
async function startSqliteFerret(): Promise<{ url: string; stop(): void }> {
  const bin = join(process.env.SKYFERRY_TOOLS_DIR ?? join(homedir(), ".cache/skyferry/bin"), "ferretdb");
  if (!existsSync(bin)) throw new Error(`${bin} missing: run \`npm run stack -- up\` first (it installs FerretDB)`);
  const dir = mkdtempSync(join(tmpdir(), "bench-db-sqlite-"));
  const port = await freePort();
  const child = spawn(bin, ["--handler=sqlite", `--sqlite-url=file:${dir}/`, `--listen-addr=127.0.0.1:${port}`, `--state-dir=${dir}`, "--telemetry=disable", "--log-level=error", "--debug-addr=-"], { stdio: "ignore" });
  const url = `mongodb://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      const m = await connectMongo({ url, dbName: "probe", logger, attempts: 1 });
      await m.close();
      break;
    } catch (err) {
      if (i > 50) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { url, stop: () => (child.kill("SIGKILL"), rmSync(dir, { recursive: true, force: true })) };
}

async function plot(rows: Row[], file: string): Promise<void> {
  const spec: vl.TopLevelSpec = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: "bench:db — p50 cost of each operation against collection size",
    width: 640,
    height: 420,
    background: "white",
    data: { values: rows.map((r) => ({ ...r, series: `${r.op} (${r.backend})` })) },
    mark: { type: "line", point: true },
    encoding: {
      x: { field: "size", type: "quantitative", scale: { type: "log" }, title: "documents per collection" },
      y: { field: "p50", type: "quantitative", scale: { type: "log" }, title: "p50 (ms)" },
      color: { field: "op", type: "nominal", title: "operation" },
      strokeDash: { field: "backend", type: "nominal", title: "FerretDB storage" },
      detail: { field: "series" },
    },
  };
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: "none" });
  const svg = await view.toSVG();
  writeFileSync(file, new Resvg(svg, { background: "white", font: { loadSystemFonts: true } }).render().asPng());
}

async function main(): Promise<void> {
  const stack = stackEnv();
  const rows: Row[] = [];
  console.log(`bench:db — sizes ${SIZES.join(", ")}; ${REPS} repetitions per operation`);
  if (BACKENDS.has("postgresql")) {
    for (const size of SIZES) rows.push(...(await benchOne("postgresql", stack.mongoUrl, size)));
  }
  if (BACKENDS.has("sqlite")) {
    const sqlite = await startSqliteFerret();
    try {
      for (const size of SIZES.filter((s) => s <= SQLITE_MAX)) rows.push(...(await benchOne("sqlite", sqlite.url, size)));
    } finally {
      sqlite.stop();
    }
  }
  console.log("\n| operation | storage | " + SIZES.map((s) => `${s.toLocaleString("en")} p50 / p99 ms`).join(" | ") + " |");
  console.log("|---|---|" + SIZES.map(() => "---:").join("|") + "|");
  const ops = [...new Set(rows.map((r) => r.op))];
  for (const op of ops) {
    for (const backend of [...new Set(rows.map((r) => r.backend))]) {
      const cells = SIZES.map((s) => rows.find((r) => r.op === op && r.backend === backend && r.size === s)).map((r) => (r ? `${r.p50.toFixed(1)} / ${r.p99.toFixed(1)}` : "–"));
      console.log(`| ${op} | ${backend} | ${cells.join(" | ")} |`);
    }
  }
  mkdirSync(OUT, { recursive: true });
  writeFileSync(join(OUT, "db.json"), `${JSON.stringify({ date: new Date().toISOString(), sizes: SIZES, reps: REPS, rows }, null, 2)}\n`);
  await plot(rows, join(OUT, "db.png"));
  console.log(`\nwrote ${join(OUT, "db.json")} and ${join(OUT, "db.png")}`);
}

await main();
