import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, test } from "node:test";
import Fastify from "fastify";
import { inSpan, registerHttpTracing, startTracing } from "../src/index.ts";

/** Spans posted to an OTLP/HTTP (JSON) receiver on loopback, by name. */
async function receiver() {
  const spans: Array<{ name: string; traceId: string; parentSpanId?: string; scope: string }> = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString("utf8")));
    req.on("end", () => {
      const doc = JSON.parse(body) as { resourceSpans: Array<{ scopeSpans: Array<{ scope: { name: string }; spans: Array<{ name: string; traceId: string; parentSpanId?: string }> }> }> };
      for (const rs of doc.resourceSpans) for (const ss of rs.scopeSpans) for (const s of ss.spans) spans.push({ ...s, scope: ss.scope.name });
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe("tracing", () => {
  test("off without an endpoint: nothing is registered, spans are no-ops", async () => {
    const t = startTracing({ service: "svc", instance: "i", endpoint: "", sampleRatio: 1 });
    assert.equal(t.enabled, false);
    await inSpan("x", "nothing", {}, async (span) => assert.equal(span.isRecording(), false));
    await t.shutdown();
  });

  test("on: an HTTP request's span is the parent of the spans made while it is handled; a caller's traceparent is continued only when accepted; shutdown sends them", async () => {
    const r = await receiver();
    const t = startTracing({ service: "svc", instance: "i", endpoint: r.url, sampleRatio: 1 });
    const app = Fastify();
    registerHttpTracing(app, { service: "svc", acceptParent: (req) => req.headers["x-trusted"] === "yes" });
    app.get("/items/:id", async () => {
      await new Promise((res) => setTimeout(res, 5)); // an await between: the context must survive it
      return inSpan("skyferry-inner", "inner work", { n: 1 }, async () => ({ ok: true }));
    });
    const parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    assert.equal((await app.inject({ url: "/items/1", headers: { traceparent: parent, "x-trusted": "yes" } })).statusCode, 200);
    assert.equal((await app.inject({ url: "/items/2", headers: { traceparent: parent } })).statusCode, 200);
    await app.close();
    await t.shutdown();
    await r.close();
    const routes = r.spans.filter((s) => s.name === "GET /items/:id");
    const inner = r.spans.filter((s) => s.name === "inner work");
    assert.equal(routes.length, 2);
    assert.equal(inner.length, 2);
    const [trusted, untrusted] = routes;
    assert.equal(trusted!.traceId, "0af7651916cd43dd8448eb211c80319c", "the accepted caller's trace continues");
    assert.equal(trusted!.parentSpanId, "b7ad6b7169203331");
    assert.notEqual(untrusted!.traceId, "0af7651916cd43dd8448eb211c80319c", "an unaccepted caller starts a trace");
    for (const [i, span] of inner.entries()) assert.equal(span.traceId, routes[i]!.traceId, "the inner span is in its request's trace");
    await inSpan("x", "after", {}, async (span) => assert.equal(span.isRecording(), false, "shut down: no provider is left registered (a later start registers afresh)"));
  });
});
