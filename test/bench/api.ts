// `npm run bench:api`: the hot read routes of the gateway under load, against a running `npm start`
// (the shipped entry point: every service its own process, the stack's FerretDB on PostgreSQL).
// Start it first (`npm start` in another terminal), then run this. Not part of `npm test`.
//
// It signs in BENCH_API_USERS users (default 20) on the stack's own provider, as the console does
// (gateway -> provider's sign-in page -> callback -> API key), gives each one S3 authorization and
// one history, and seeds BENCH_API_DATASETS history items and BENCH_API_JOBS jobs (default 10,000
// each) spread over those users, written straight into the services' collections in the shapes
// their repositories write (hid blocks and hid counters included; no dataset bytes: nothing here
// reads them). Then autocannon drives each route for BENCH_API_SECONDS (default 10) at each of
// BENCH_API_CONNECTIONS (default 20,100) concurrent connections, every connection cycling through
// all users' keys:
//   a history's contents page (limit 100), a job by id, the jobs list (limit 50), the current
//   user, the authorizations list.
// Before each route it waits until the gateway answers a trivial request quickly again (what a slow
// route left queued has drained). autocannon counts a request unanswered after 10 s as an error
// (timeout). It prints requests/s, p50, p99, non-2xx and errors per route, writes .bench-results/api.json
// (BENCH_OUT_DIR), and removes what it seeded (the users stay: the same names are the same users).
// BENCH_API_ROUTES=contents,job,jobs,user,authz picks routes (default all). BENCH_API_URL: the gateway (default http://localhost:8080); BENCH_API_PROVIDER: the provider's
// name at the gateway (default local).
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import autocannon from "autocannon";
import { connectMongo } from "@skyferry/db";
import { type DatasetDoc, HID_COUNTERS, hidBlock } from "@skyferry/history/db";
import { createLogger } from "@skyferry/logger";
import type { JobDoc } from "@skyferry/transfer/db";
import { cookiePair } from "../support/auth.ts";
import { stackAuthzConfig } from "../support/send-system.ts";
import { stackEnv } from "../support/stack-env.ts";

const BASE = (process.env.BENCH_API_URL ?? "http://localhost:8080").replace(/\/$/, "");
const PROVIDER = process.env.BENCH_API_PROVIDER ?? "local";
const USERS = Number(process.env.BENCH_API_USERS ?? 20);
const DATASETS = Number(process.env.BENCH_API_DATASETS ?? 10_000);
const JOBS = Number(process.env.BENCH_API_JOBS ?? 10_000);
const SECONDS = Number(process.env.BENCH_API_SECONDS ?? 10);
const CONNECTIONS = (process.env.BENCH_API_CONNECTIONS ?? "20,100").split(",").map(Number);
const OUT = resolve(process.env.BENCH_OUT_DIR ?? join(import.meta.dirname, "../../.bench-results"));
const MONGO_DB = process.env.MONGO_DB ?? "skyferry";
const ROUTES = process.env.BENCH_API_ROUTES ? new Set(process.env.BENCH_API_ROUTES.split(",")) : undefined;

const hex = (n: number) => randomBytes(n).toString("hex");

interface User { name: string; id: string; key: string; history: string; authz: string; jobs: string[] }

async function call<T>(path: string, init: { key?: string; cookie?: string; method?: string; body?: unknown; csrf?: string } = {}): Promise<T> {
  const headers: Record<string, string> = {};
  if (init.key) headers["x-api-key"] = init.key;
  if (init.cookie) headers.cookie = init.cookie;
  if (init.csrf) headers["x-csrf-token"] = init.csrf;
  if (init.body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${BASE}${path}`, { method: init.method ?? "GET", headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${init.method ?? "GET"} ${path}: HTTP ${res.status} ${text.slice(0, 300)}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** Signs `name` in on the stack's provider page (the form's `username`), as a person does, and makes an API key. */
async function signIn(name: string): Promise<{ id: string; key: string }> {
  const login = await fetch(`${BASE}/authnz/${PROVIDER}/login`);
  if (login.status !== 200) throw new Error(`login: HTTP ${login.status} ${await login.text()}`);
  const loginCookie = cookiePair(login, "skyferry_login_state");
  const authorize = new URL(((await login.json()) as { redirect_uri: string }).redirect_uri);
  authorize.searchParams.set("username", name);
  const back = await fetch(authorize, { redirect: "manual" });
  const callback = back.headers.get("location");
  if (back.status !== 302 || !callback) throw new Error(`provider: HTTP ${back.status} ${(await back.text()).slice(0, 300)}`);
  const done = await fetch(callback, { redirect: "manual", headers: { cookie: loginCookie } });
  if (done.status !== 302) throw new Error(`callback: HTTP ${done.status} ${await done.text()}`);
  const cookie = cookiePair(done, "skyferry_session");
  const { csrf_token } = await call<{ csrf_token: string }>("/api/csrf", { cookie });
  const key = await call<string>("/api/users/current/api_key", { cookie, csrf: csrf_token, method: "POST" });
  const me = await call<{ id: string }>("/api/users/current", { key });
  return { id: me.id, key };
}

function datasetDoc(user: User, hid: number): DatasetDoc {
  const id = hex(8);
  const t = new Date(Date.UTC(2026, 0, 1) + hid * 1000);
  return {
    _id: id, dataset_id: hex(8), history_id: user.history, user_id: user.id, hid, hid_block: hidBlock(hid), name: `rep${hid}.bed`, extension: "bed",
    state: "ok", deleted: false, purged: false, visible: true, tags: [], annotation: null, genome_build: null, misc_info: "uploaded file",
    misc_blurb: "100 KB", peek: "chr1\t1\t100", file_size: 102_400, sha256: "a".repeat(64), md5: "b".repeat(32), store_key: `ab/cd/${id}`,
    uuid: crypto.randomUUID(), created_from_basename: `rep${hid}.bed`, source_uri: null, create_time: t, update_time: t,
  } as DatasetDoc;
}

function jobDoc(user: User, i: number): JobDoc {
  const t = new Date(Date.UTC(2026, 0, 1) + i * 1000);
  return {
    _id: hex(8), dedupe_key: `bench-api-${hex(6)}`, idempotency_key: hex(4), user_id: user.id, history_id: user.history, dataset_id: hex(8),
    hid: i + 1, dataset_name: `rep${i}.bed`, store_key: `ab/cd/${hex(8)}`, authz_id: user.authz, provider: "s3", bucket: "bench-api",
    planned_key: `rep${i}.bed`, object_key: `rep${i}.bed`, overwrite_policy: "rename", storage_class: null, metadata: {}, state: "ok",
    outcome: "uploaded", bytes_total: 102_400, bytes_done: 102_400, checksum: { sha256: "a".repeat(64), md5: "b".repeat(32) }, attempts: 1,
    retries: 0, error: null, upload: null, worker: null, create_time: t, update_time: t,
  } as JobDoc;
}

const pct = (h: autocannon.Histogram, p: "p50" | "p99") => h[p];

/** Waits until the gateway answers a trivial route again (requests a slow route left queued have drained). */
async function settle(): Promise<void> {
  for (let i = 0; i < 120; i++) {
    const t = performance.now();
    const ok = await fetch(`${BASE}/api/version`).then((r) => r.ok, () => false);
    if (ok && performance.now() - t < 50) return;
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function main(): Promise<void> {
  try {
    await call("/api/version");
  } catch (err) {
    throw new Error(`no gateway at ${BASE}: start it first with \`npm start\` (${(err as Error).message})`);
  }
  const logger = createLogger({ name: "bench-api", level: "warn" });
  const mongo = await connectMongo({ url: stackEnv().mongoUrl, dbName: MONGO_DB, logger });
  const users: User[] = [];
  try {
    console.log(`signing in ${USERS} users on ${BASE} (provider ${PROVIDER})…`);
    for (let u = 0; u < USERS; u++) {
      const { id, key } = await signIn(`bench-api-${String(u).padStart(2, "0")}`);
      const history = await call<{ id: string }>("/api/histories", { key, method: "POST", body: { name: "bench:api" } });
      const authz = await call<{ id: string }>("/api/cloud/authz", { key, method: "POST", body: { provider: "s3", config: stackAuthzConfig("s3"), description: "bench:api" } });
      users.push({ name: `bench-api-${u}`, id, key, history: history.id, authz: authz.id, jobs: [] });
    }
    const t0 = performance.now();
    const datasets = mongo.db.collection<DatasetDoc>("datasets");
    const jobs = mongo.db.collection<JobDoc>("transfer_jobs");
    for (const user of users) {
      const n = Math.ceil(DATASETS / USERS);
      for (let i = 0; i < n; i += 1000) await datasets.insertMany(Array.from({ length: Math.min(1000, n - i) }, (_, j) => datasetDoc(user, i + j + 1)));
      await mongo.db.collection<{ _id: string; last: number }>(HID_COUNTERS).updateOne({ _id: user.history }, { $set: { last: n } }, { upsert: true });
      const m = Math.ceil(JOBS / USERS);
      for (let i = 0; i < m; i += 1000) {
        const docs = Array.from({ length: Math.min(1000, m - i) }, (_, j) => jobDoc(user, i + j));
        await jobs.insertMany(docs);
        user.jobs.push(...docs.map((d) => d._id));
      }
    }
    console.log(`seeded ${DATASETS} history items and ${JOBS} jobs over ${USERS} users in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    const routes = [
      { key: "contents", name: "a history's contents page (100)", path: (u: User) => `/api/histories/${u.history}/contents?limit=100` },
      { key: "job", name: "a job by id", path: (u: User, i: number) => `/api/jobs/${u.jobs[(i * 37) % u.jobs.length]}` },
      { key: "jobs", name: "the jobs list (50)", path: () => `/api/jobs?limit=50` },
      { key: "user", name: "the current user", path: () => `/api/users/current` },
      { key: "authz", name: "the authorizations list", path: () => `/api/cloud/authz` },
    ].filter((r) => !ROUTES || ROUTES.has(r.key));
    // Each route answers each user's key with 200 before it is measured (a wrong seed would be a fast 404).
    for (const r of routes) for (const u of users) await call(r.path(u, 0), { key: u.key });

    const results: Array<{ route: string; connections: number; rps: number; p50: number; p99: number; non2xx: number; errors: number; timeouts: number }> = [];
    for (const connections of CONNECTIONS) {
      for (const r of routes) {
        const requests = users.map((u, i) => ({ method: "GET" as const, path: r.path(u, i), headers: { "x-api-key": u.key } }));
        await settle();
        const res = await autocannon({ url: BASE, connections, duration: SECONDS, requests });
        const row = { route: r.name, connections, rps: res.requests.average, p50: pct(res.latency, "p50"), p99: pct(res.latency, "p99"), non2xx: res.non2xx, errors: res.errors, timeouts: res.timeouts };
        results.push(row);
        console.log(`  ${String(connections).padStart(3)} clients  ${r.name.padEnd(34)} ${row.rps.toFixed(0).padStart(6)} req/s   p50 ${String(row.p50).padStart(5)} ms   p99 ${String(row.p99).padStart(5)} ms   non-2xx ${row.non2xx}, errors ${row.errors} (timeouts ${row.timeouts})`);
      }
    }
    console.log(`\n| route | clients | requests/s | p50 ms | p99 ms | non-2xx | errors (timeouts) |\n|---|---:|---:|---:|---:|---:|---:|`);
    for (const r of results) console.log(`| ${r.route} | ${r.connections} | ${r.rps.toFixed(0)} | ${r.p50} | ${r.p99} | ${r.non2xx} | ${r.errors} (${r.timeouts}) |`);
    mkdirSync(OUT, { recursive: true });
    writeFileSync(join(OUT, "api.json"), JSON.stringify({ when: new Date().toISOString(), base: BASE, users: USERS, datasets: DATASETS, jobs: JOBS, seconds: SECONDS, results }, null, 2));
    console.log(`wrote ${join(OUT, "api.json")}`);
  } finally {
    // What was seeded goes; the users, their (empty) histories and authorizations are removed through the API.
    for (const u of users) {
      await mongo.db.collection("datasets").deleteMany({ history_id: u.history });
      await mongo.db.collection("transfer_jobs").deleteMany({ user_id: u.id, bucket: "bench-api" });
      await mongo.db.collection(HID_COUNTERS).deleteOne({ _id: u.history as never });
      await call(`/api/histories/${u.history}?purge=true`, { key: u.key, method: "DELETE" }).catch(() => undefined);
      await call(`/api/cloud/authz/${u.authz}`, { key: u.key, method: "DELETE" }).catch(() => undefined);
    }
    await mongo.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
