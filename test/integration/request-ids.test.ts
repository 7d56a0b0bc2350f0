import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { request } from "node:http";
import { hostname } from "node:os";
import { after, before, describe, test } from "node:test";
import { api, createS3Bucket, independentS3, removeS3Buckets, waitForJobs } from "../support/send.ts";
import { type SendWorld, startSendWorld } from "../support/send-system.ts";

// Request ids end to end (issue 22), on the real services: the gateway takes `x-request-id` only
// from a trusted proxy (here 127.0.0.1; the test also connects from 127.0.0.2, an untrusted peer)
// and otherwise makes a UUID; every answer carries it, every error body too; the actor assertion
// signs it, so the job records it and the worker's log lines carry it, with the host name.

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** A GET from a chosen local address (127.0.0.1 is the trusted proxy, 127.0.0.2 is not). */
function getFrom(base: string, path: string, from: string, headers: Record<string, string>): Promise<{ status: number; requestId: string | undefined; body: string }> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: url.pathname + url.search, localAddress: from, headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, requestId: res.headers["x-request-id"] as string | undefined, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("request ids", () => {
  let w: SendWorld;
  const buckets: string[] = [];
  before(async () => {
    w = await startSendWorld({ label: "request-ids", gatewayEnv: { SKYFERRY_TRUSTED_PROXIES: "127.0.0.1" } });
  });
  after(async () => {
    await removeS3Buckets(independentS3(), buckets);
    await w?.close();
  });

  test("without one, each answer carries a new UUID; an error body carries the same id as its header", async () => {
    const a = await fetch(`${w.sys.url}/api/version`);
    const b = await fetch(`${w.sys.url}/api/version`);
    assert.match(a.headers.get("x-request-id") ?? "", UUID);
    assert.match(b.headers.get("x-request-id") ?? "", UUID);
    assert.notEqual(a.headers.get("x-request-id"), b.headers.get("x-request-id"));
    const refused = await fetch(`${w.sys.url}/api/histories`); // no credentials: 401
    assert.equal(refused.status, 401);
    const body = (await refused.json()) as { err_code: number; request_id?: string };
    assert.equal(body.err_code, 401001);
    assert.match(body.request_id ?? "", UUID);
    assert.equal(body.request_id, refused.headers.get("x-request-id"));
    const missing = await fetch(`${w.sys.url}/api/no-such-route`);
    assert.equal(((await missing.json()) as { request_id?: string }).request_id, missing.headers.get("x-request-id"));
  });

  test("a trusted proxy's x-request-id is kept; an untrusted peer's, or a malformed one, is replaced", async () => {
    const trusted = await getFrom(w.sys.url, "/api/version", "127.0.0.1", { "x-request-id": "edge-7f3a.1" });
    assert.equal(trusted.status, 200);
    assert.equal(trusted.requestId, "edge-7f3a.1");
    const untrusted = await getFrom(w.sys.url, "/api/version", "127.0.0.2", { "x-request-id": "edge-7f3a.2" });
    assert.equal(untrusted.status, 200);
    assert.match(untrusted.requestId ?? "", UUID);
    const malformed = await getFrom(w.sys.url, "/api/version", "127.0.0.1", { "x-request-id": "no spaces <script>" });
    assert.match(malformed.requestId ?? "", UUID);
    const long = await getFrom(w.sys.url, "/api/version", "127.0.0.1", { "x-request-id": "a".repeat(129) });
    assert.match(long.requestId ?? "", UUID);
  });

  test("a send's jobs record the request that queued them, and the worker's log lines carry it with the host name", async () => {
    const u = await w.user();
    const authzId = await w.authz(u, "s3");
    const hist = await w.history(u);
    await hist.add({ name: "rid.txt", content: Buffer.from("request ids\n") });
    const bucket = `rid-${randomBytes(4).toString("hex")}`;
    await createS3Bucket(independentS3(), bucket);
    buckets.push(bucket);
    const requestId = `edge-${randomBytes(6).toString("hex")}`;
    const res = await fetch(`${w.sys.url}/api/cloud/storage/send`, {
      method: "POST",
      headers: { "x-api-key": u.apiKey, "content-type": "application/json", "x-request-id": requestId },
      body: JSON.stringify({ history_id: hist.id, authz_id: authzId, bucket }),
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-request-id"), requestId);
    const sent = (await res.json()) as { sent: Array<{ job_id: string }> };
    const [job] = await waitForJobs(w.sys.url, u.apiKey, sent.sent.map((s) => s.job_id));
    assert.equal(job!.state, "ok");
    assert.equal(job!.request_id, requestId);
    const listed = await api<Array<{ id: string; request_id?: string }>>(w.sys.url, `/api/jobs?history_id=${hist.id}`, { key: u.apiKey });
    assert.equal(listed.body.find((j) => j.id === job!.id)?.request_id, requestId);
    const lines = w.sys.logs.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const ok = lines.find((l) => l.msg === "job ok" && l.job_id === job!.id);
    assert.ok(ok, "the worker logged the job's end");
    assert.equal(ok.request_id, requestId);
    assert.equal(ok.hostname, hostname());
    const gatewayLine = lines.find((l) => l.service === "gateway" && l.request_id === requestId);
    assert.ok(gatewayLine, "the gateway's own lines for the request carry it");
  });
});
