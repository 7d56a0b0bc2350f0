import assert from "node:assert/strict";
import { describe, test } from "node:test";
import Fastify from "fastify";
import type { Registry } from "prom-client";
import { busRequestMetrics, createServiceMetrics, registerHttpMetrics, serveMetrics } from "../src/index.ts";

/** The value of one sample (`metricName` as exposed, e.g. `x_count`), by its exact labels; undefined when absent. */
async function sample(registry: Registry, metric: string, exposed: string, labels: Record<string, string>): Promise<number | undefined> {
  const m = registry.getSingleMetric(metric);
  if (!m) return undefined;
  const { values } = await m.get();
  const hit = values.find((v) => ((v as { metricName?: string }).metricName ?? metric) === exposed && JSON.stringify(Object.entries(v.labels).map(([k, x]) => [k, String(x)]).sort()) === JSON.stringify(Object.entries(labels).sort()));
  return hit?.value;
}

describe("service metrics", () => {
  test("HTTP requests are counted by route template (never the raw URL) and status; unmatched ones as `unmatched`", async () => {
    const metrics = createServiceMetrics("svc");
    const app = Fastify();
    registerHttpMetrics(app, metrics);
    await app.register(async (child) => {
      child.get("/items/:id", async (req) => ({ id: (req.params as { id: string }).id }));
    });
    for (const id of ["1", "2", "3"]) assert.equal((await app.inject({ url: `/items/${id}` })).statusCode, 200);
    assert.equal((await app.inject({ url: "/nope/secret-token" })).statusCode, 404);
    const h = "skyferry_http_request_duration_seconds";
    assert.equal(await sample(metrics.registry, h, `${h}_count`, { method: "GET", route: "/items/:id", status_code: "200" }), 3);
    assert.equal(await sample(metrics.registry, h, `${h}_count`, { method: "GET", route: "unmatched", status_code: "404" }), 1);
    const text = await metrics.registry.metrics();
    assert.match(text, /route="\/items\/:id"/);
    assert.doesNotMatch(text, /secret-token|items\/1/);
    await app.close();
  });

  test("each service has its own registry with Node's process metrics, labelled with its name", async () => {
    const a = createServiceMetrics("gateway");
    const b = createServiceMetrics("authz");
    a.counter("skyferry_test_total", "a test counter", ["kind"]).inc({ kind: "x" }, 2);
    const textA = await a.registry.metrics();
    const textB = await b.registry.metrics();
    assert.match(textA, /^skyferry_test_total\{(kind="x",service="gateway"|service="gateway",kind="x")\} 2$/m);
    assert.doesNotMatch(textB, /skyferry_test_total/);
    assert.match(textB, /^process_resident_memory_bytes\{service="authz"\} \d+/m);
  });

  test("NATS requests: the namespace is cut from the subject", async () => {
    const metrics = createServiceMetrics("transfer");
    const observe = busRequestMetrics(metrics, "prod");
    observe.request("prod.rpc.history.datasets.owned.v1", "ok", 0.02);
    observe.request("prod.rpc.history.datasets.owned.v1", "BUS_TIMEOUT", 10);
    const h = "skyferry_nats_request_duration_seconds";
    const subject = "rpc.history.datasets.owned.v1";
    assert.equal(await sample(metrics.registry, h, `${h}_count`, { subject, outcome: "ok" }), 1);
    assert.equal(await sample(metrics.registry, h, `${h}_bucket`, { le: "5", subject, outcome: "BUS_TIMEOUT" }), 0);
    assert.equal(await sample(metrics.registry, h, `${h}_bucket`, { le: "10", subject, outcome: "BUS_TIMEOUT" }), 1);
    assert.doesNotMatch(await metrics.registry.metrics(), /prod\.rpc/);
  });

  test("the metrics listener answers GET /metrics in Prometheus' text format, and nothing else", async () => {
    const metrics = createServiceMetrics("svc");
    const server = await serveMetrics(metrics.registry, { host: "127.0.0.1", port: 0 });
    try {
      const res = await fetch(server.url);
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
      assert.match(await res.text(), /^# TYPE process_cpu_seconds_total counter$/m);
      const base = server.url.replace(/\/metrics$/, "");
      assert.equal((await fetch(`${base}/`)).status, 404);
      assert.equal((await fetch(`${base}/metrics/x`)).status, 404);
      assert.equal((await fetch(server.url, { method: "POST" })).status, 404);
    } finally {
      await server.close();
    }
  });
});
