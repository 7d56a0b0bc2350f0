import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Registry } from "prom-client";
import { parse } from "yaml";
import { api, createS3Bucket, independentS3, removeS3Buckets, waitForJobs } from "../support/send.ts";
import { type SlowLink, startSlowLink } from "../support/slow-link.ts";
import { type SendWorld, stackAuthzConfig, startSendWorld } from "../support/send-system.ts";
import { stackEnv, stackOutboundAllow } from "../support/stack-env.ts";

// What /metrics tells an operator (issue 22) and what issue 25 asks to be counted, on the real
// services: a send's jobs, bytes and latencies; the NATS and HTTP requests behind them; an upload
// into a history; and a job whose provider went away mid-upload, retried until its patience ran
// out (retries and the give-up counted). The registries are the services' own (startSystem builds
// them in this process); the shipped listeners are tested in test/shipped.

const PATIENCE_MS = 3000;

/** One sample's value by its metric, exposed name (`x_count`, `x_bucket`) and exact labels (the service label aside). */
async function sample(registry: Registry, metric: string, labels: Record<string, string>, exposed = metric): Promise<number | undefined> {
  const m = registry.getSingleMetric(metric);
  if (!m) return undefined;
  const want = JSON.stringify(Object.entries(labels).sort());
  const hit = (await m.get()).values.find((v) => ((v as { metricName?: string }).metricName ?? metric) === exposed && JSON.stringify(Object.entries(v.labels).map(([k, x]) => [k, String(x)]).sort()) === want);
  return hit?.value;
}

/** Waits until `read` gives `want` (10 s at most) and returns the last value read. */
async function until<T>(read: () => Promise<T>, want: T): Promise<T> {
  const deadline = Date.now() + 10_000;
  let last = await read();
  while (last !== want && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    last = await read();
  }
  return last;
}

/** The sum of a metric's samples whose labels include `labels` (any value of the others). */
async function total(registry: Registry, metric: string, labels: Record<string, string>): Promise<number> {
  const m = registry.getSingleMetric(metric);
  if (!m) return 0;
  return (await m.get()).values.filter((v) => Object.entries(labels).every(([k, x]) => String(v.labels[k]) === x)).reduce((a, v) => a + v.value, 0);
}

describe("metrics", () => {
  let w: SendWorld;
  let link: SlowLink;
  const buckets: string[] = [];
  const registry = (name: "gateway" | "history" | "transfer") => {
    const built = w.sys.services[name];
    assert.ok(built, `${name} runs`);
    return built.deps.metrics.registry;
  };
  before(async () => {
    // 256 KiB/s: a 2 MiB dataset takes 8 s through it, so it is cut mid-upload.
    link = await startSlowLink(stackEnv().s3.endpoint, 256 * 1024);
    const allow = stackOutboundAllow(new URL(link.url).host);
    w = await startSendWorld({
      label: "metrics",
      authzEnv: { SKYFERRY_OUTBOUND_ALLOW: allow },
      // A reconciler sweep every second: it counts the unfinished jobs by state.
      transferEnv: { SKYFERRY_OUTBOUND_ALLOW: allow, SKYFERRY_TRANSIENT_PATIENCE_MS: String(PATIENCE_MS), TRANSFER_RETRY_MAX_DELAY_MS: "1000", TRANSFER_RECONCILE_SECONDS: "1" },
    });
  });
  after(async () => {
    await removeS3Buckets(independentS3(), buckets);
    await w?.close();
    await link?.close();
  });

  test("a send: jobs finished ok, their bytes and latencies, the history checks behind them, the HTTP routes and the upload", async () => {
    const u = await w.user();
    const authzId = await w.authz(u, "s3");
    const hist = await w.history(u);
    const sizes = [1000, 20_000, 300_000];
    await hist.add(...sizes.map((n, i) => ({ name: `m${i}.bin`, content: randomBytes(n) })));
    const bucket = `metrics-${randomBytes(4).toString("hex")}`;
    await createS3Bucket(independentS3(), bucket);
    buckets.push(bucket);
    const sent = await api<{ sent: Array<{ job_id: string }> }>(w.sys.url, "/api/cloud/storage/send", { key: u.apiKey, method: "POST", body: { history_id: hist.id, authz_id: authzId, bucket } });
    assert.equal(sent.status, 200, JSON.stringify(sent.body));
    const jobs = await waitForJobs(w.sys.url, u.apiKey, sent.body.sent.map((s) => s.job_id));
    assert.deepEqual(jobs.map((j) => j.state), ["ok", "ok", "ok"]);

    const transfer = registry("transfer");
    const send = { direction: "send", provider: "s3" };
    assert.equal(await sample(transfer, "skyferry_transfer_jobs_finished_total", { ...send, state: "ok" }), 3);
    assert.equal(await sample(transfer, "skyferry_transfer_bytes_total", send), sizes.reduce((a, b) => a + b, 0));
    assert.equal(await sample(transfer, "skyferry_transfer_job_latency_seconds", send, "skyferry_transfer_job_latency_seconds_count"), 3);
    assert.equal(await sample(transfer, "skyferry_transfer_failures_total", { ...send, code: "XFER_GAVE_UP" }), undefined, "no failure");
    // Each job's dataset was checked to be its user's, through history, before a byte was read.
    const owned = await sample(transfer, "skyferry_nats_request_duration_seconds", { subject: "rpc.history.datasets.owned.v1", outcome: "ok" }, "skyferry_nats_request_duration_seconds_count");
    assert.ok(owned !== undefined && owned >= 1 && owned <= 3, `history asked 1 to 3 times (batched): ${owned}`);
    // The queue as the consumer's info tells it, read when scraped: nothing left.
    assert.equal(await sample(transfer, "skyferry_transfer_queue_pending", {}), 0);
    assert.equal(await sample(transfer, "skyferry_transfer_jobs_running", {}), 0);

    const gateway = registry("gateway");
    const h = "skyferry_http_request_duration_seconds";
    assert.equal(await sample(gateway, h, { method: "POST", route: "/api/cloud/storage/send", status_code: "200" }, `${h}_count`), 1);
    assert.ok((await sample(gateway, h, { method: "GET", route: "/api/jobs/:id", status_code: "200" }, `${h}_count`))! >= 3, "the job polls, by route template");

    const history = registry("history");
    assert.equal(await sample(history, "skyferry_history_upload_bytes_total", { source: "file" }), sizes.reduce((a, b) => a + b, 0));
    assert.equal(await sample(history, "skyferry_history_upload_duration_seconds", { source: "file", outcome: "ok" }, "skyferry_history_upload_duration_seconds_count"), 3);
  });

  test("a provider gone mid-upload: each transient failure is counted as a retry, then the give-up (XFER_GAVE_UP) once the patience ran out", async () => {
    const u = await w.user();
    // The user's S3 endpoint is the slow link in front of radosgw.
    const authzId = await w.authz(u, "s3", { ...stackAuthzConfig("s3"), endpoint: link.url });
    const hist = await w.history(u);
    await hist.add({ name: "cut.bin", content: randomBytes(2 * 1024 * 1024) });
    const bucket = `metrics-cut-${randomBytes(4).toString("hex")}`;
    await createS3Bucket(independentS3(), bucket);
    buckets.push(bucket);
    const transfer = registry("transfer");
    const retriesBefore = await total(transfer, "skyferry_transfer_retries_total", { direction: "send" });
    const sent = await api<{ sent: Array<{ job_id: string }> }>(w.sys.url, "/api/cloud/storage/send", { key: u.apiKey, method: "POST", body: { history_id: hist.id, authz_id: authzId, bucket } });
    assert.equal(sent.status, 200, JSON.stringify(sent.body));
    // Unfinished jobs by state, counted by the reconciler's sweeps: the upload (8 s through the link)
    // is one. (A one-PUT job is recorded `running` only at its end: it counts as queued meanwhile.)
    const jobsIn = (state: string) => sample(transfer, "skyferry_transfer_jobs", { state });
    const unfinished = async () => ((await jobsIn("new")) ?? 0) + ((await jobsIn("queued")) ?? 0) + ((await jobsIn("running")) ?? 0);
    assert.equal(await until(unfinished, 1), 1, "one unfinished job, deployment-wide");
    assert.equal(await sample(transfer, "skyferry_transfer_jobs_running", {}), 1, "and in flight in the one worker");
    // Mid-upload, the provider goes away for good: the upload is reset, every later connection refused.
    await link.close();
    const [job] = await waitForJobs(w.sys.url, u.apiKey, [sent.body.sent[0]!.job_id], 60_000);
    assert.equal(job!.state, "error");
    const retries = (await total(transfer, "skyferry_transfer_retries_total", { direction: "send" })) - retriesBefore;
    assert.ok(retries >= 2, `at least two transient failures retried within ${PATIENCE_MS} ms: ${retries}`);
    assert.equal(await sample(transfer, "skyferry_transfer_failures_total", { direction: "send", provider: "s3", code: "XFER_GAVE_UP" }), 1);
    assert.equal(await sample(transfer, "skyferry_transfer_jobs_finished_total", { direction: "send", provider: "s3", state: "error" }), 1);
    assert.equal(await until(unfinished, 0), 0, "nothing unfinished once it gave up");
    assert.deepEqual([await jobsIn("new"), await jobsIn("queued"), await jobsIn("running")], [0, 0, 0], "each state reported, at 0");
  });

  test("the alert rules and the Grafana dashboard in deploy/monitoring name only metrics the services export", async () => {
    const exported = new Set<string>();
    for (const name of ["gateway", "authz", "history", "transfer"] as const) {
      for (const m of w.sys.services[name]!.deps.metrics.registry.getMetricsAsArray()) exported.add(m.name);
    }
    const dir = resolve(import.meta.dirname, "../../deploy/monitoring");
    for (const file of ["alerts.yaml", "grafana-dashboard.json"]) {
      const text = readFileSync(resolve(dir, file), "utf8");
      const named = new Set([...text.matchAll(/\b((?:skyferry|process|nodejs)_[a-z_]+)/g)].map((m) => m[1]!.replace(/_(bucket|count|sum)$/, "")));
      assert.ok(named.size >= 5, `${file} names metrics`);
      for (const metric of named) assert.ok(exported.has(metric), `${file}: ${metric} is exported by a service`);
    }
    const rules = (parse(readFileSync(resolve(dir, "alerts.yaml"), "utf8")) as { groups: Array<{ rules: Array<{ alert?: string; expr?: string }> }> }).groups.flatMap((g) => g.rules);
    assert.ok(rules.length >= 5 && rules.every((r) => /^Skyferry[A-Za-z]+$/.test(r.alert ?? "") && (r.expr ?? "").length > 0), "every rule is a named alert with an expression");
    const dashboard = JSON.parse(readFileSync(resolve(dir, "grafana-dashboard.json"), "utf8")) as { panels: Array<{ targets: Array<{ expr: string }> }> };
    assert.ok(dashboard.panels.length > 0 && dashboard.panels.every((p) => p.targets.length > 0 && p.targets.every((t) => t.expr.length > 0)));
  });
});
