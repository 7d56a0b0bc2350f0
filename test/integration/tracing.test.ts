import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { api, createS3Bucket, independentS3, removeS3Buckets, waitForJobs } from "../support/send.ts";
import { type SendWorld, startSendWorld } from "../support/send-system.ts";

// OpenTelemetry traces (issue 22), on the real services with OTEL_EXPORTER_OTLP_ENDPOINT pointing
// at an OTLP/HTTP receiver this test runs: one send is one trace, from the gateway's route through
// the NATS request to the planner, the work message it publishes, the worker that runs the job,
// and the S3 requests the job makes. The services run in this process (one tracer provider); each
// names its spans' tracer after itself, which is what tells them apart here.

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  scope: string;
}

/** An OTLP/HTTP (JSON) receiver: every span posted to /v1/traces, with its instrumentation scope. */
async function startReceiver(): Promise<{ url: string; spans: OtlpSpan[]; close(): Promise<void> }> {
  const spans: OtlpSpan[] = [];
  const server: Server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => (body += c));
    req.on("end", () => {
      if (req.url !== "/v1/traces" || req.method !== "POST" || !(req.headers["content-type"] ?? "").includes("json")) {
        res.writeHead(400).end();
        return;
      }
      const doc = JSON.parse(body) as { resourceSpans?: Array<{ scopeSpans?: Array<{ scope?: { name?: string }; spans?: Array<Omit<OtlpSpan, "scope">> }> }> };
      for (const rs of doc.resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) for (const s of ss.spans ?? []) spans.push({ ...s, scope: ss.scope?.name ?? "" });
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans, close: () => new Promise((r) => server.close(() => r())) };
}

const SERVER = 2;
const CLIENT = 3;
const PRODUCER = 4;
const CONSUMER = 5;

describe("tracing", () => {
  let w: SendWorld;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const buckets: string[] = [];
  before(async () => {
    receiver = await startReceiver();
    w = await startSendWorld({ label: "tracing", allEnv: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url } });
  });
  after(async () => {
    await removeS3Buckets(independentS3(), buckets);
    await w?.close();
    await receiver?.close();
  });

  test("one send is one trace: gateway route -> NATS request -> planner -> work message -> worker -> S3 requests", async () => {
    const u = await w.user();
    const authzId = await w.authz(u, "s3");
    const hist = await w.history(u);
    await hist.add({ name: "traced.txt", content: Buffer.from("one trace\n") });
    const bucket = `traced-${randomBytes(4).toString("hex")}`;
    await createS3Bucket(independentS3(), bucket);
    buckets.push(bucket);
    const sent = await api<{ sent: Array<{ job_id: string }> }>(w.sys.url, "/api/cloud/storage/send", { key: u.apiKey, method: "POST", body: { history_id: hist.id, authz_id: authzId, bucket } });
    assert.equal(sent.status, 200, JSON.stringify(sent.body));
    const [job] = await waitForJobs(w.sys.url, u.apiKey, sent.body.sent.map((s) => s.job_id));
    assert.equal(job!.state, "ok");

    // Spans are exported in batches about every second.
    const deadline = Date.now() + 20_000;
    let trace: OtlpSpan[] = [];
    for (;;) {
      const route = receiver.spans.find((s) => s.scope === "skyferry-gateway" && s.name === "POST /api/cloud/storage/send");
      trace = route ? receiver.spans.filter((s) => s.traceId === route.traceId) : [];
      if (trace.some((s) => s.name === "S3 PutObject") || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const has = (scope: string, name: RegExp, kind: number) => trace.find((s) => s.scope === scope && name.test(s.name) && s.kind === kind);
    const route = has("skyferry-gateway", /^POST \/api\/cloud\/storage\/send$/, SERVER);
    assert.ok(route, `the gateway's route span; spans seen: ${receiver.spans.map((s) => `${s.scope}:${s.name}`).join(", ")}`);
    const request = has("skyferry-gateway", /^rpc\.transfer\.send\.v\d+ request$/, CLIENT);
    const planner = has("skyferry-transfer", /^rpc\.transfer\.send\.v\d+ process$/, SERVER);
    const publish = has("skyferry-transfer", /^transfer\.work\.\* publish$/, PRODUCER);
    const work = has("skyferry-transfer", /^transfer\.work\.\* process$/, CONSUMER);
    const put = has("skyferry-storage", /^S3 PutObject$/, CLIENT);
    const names = receiver.spans.map((s) => `${s.scope}:${s.name}:${s.traceId.slice(0, 6)}:${(s.parentSpanId ?? "").slice(0, 4)}`).join(", ");
    for (const [what, span] of Object.entries({ request, planner, publish, work, put })) assert.ok(span, `${what} is in the send's trace: ${names}`);
    // Parent links: each hop is a child of the one before it.
    const byId = new Map(trace.map((s) => [s.spanId, s]));
    const ancestors = (s: OtlpSpan) => {
      const seen: OtlpSpan[] = [];
      for (let p = s.parentSpanId ? byId.get(s.parentSpanId) : undefined; p; p = p.parentSpanId ? byId.get(p.parentSpanId) : undefined) seen.push(p);
      return seen;
    };
    assert.ok(ancestors(put!).includes(work!), "the S3 request is within the job's run");
    assert.ok(ancestors(work!).includes(publish!), "the job's run follows its work message");
    assert.ok(ancestors(publish!).includes(planner!), "the planner published it");
    assert.ok(ancestors(planner!).includes(request!), "the planner served the gateway's request");
    assert.ok(ancestors(request!).includes(route!), "the gateway made that request for the route");
    assert.equal(route!.parentSpanId ?? "", "", "a request from an untrusted peer starts its trace");
  });
});
