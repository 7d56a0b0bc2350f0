import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import net, { type AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { HeadObjectCommand } from "@aws-sdk/client-s3";
import { MongoClient } from "mongodb";
import { type ConnectGuard, installConnectGuard } from "../support/connect-guard.ts";
import { api, createS3Bucket, independentS3, removeS3Buckets, spawnWorker, waitForJobs, workerEnv } from "../support/send.ts";
import { type SendWorld, stackAuthzConfig, startSendWorld } from "../support/send-system.ts";
import { stackEnv } from "../support/stack-env.ts";

// Issue 19: no server-side request forgery through cloud endpoints. Every refused form of address,
// for s3 and azure, at create, at /test and at send; the stack's allowlisted radosgw and Azurite
// still work; secrets stay bound to their destination; keys cannot escape with `..`.
// The connect guard (support/connect-guard.ts) fails any connection to a non-loopback address in
// this process (where the services run) and records every address dialled, so "refused before any
// connection" is checked, not assumed; the trap listener counts connections to the refused port.

let guard: ConnectGuard;
let trap: net.Server;
let trapPort = 0;
let trapHits = 0;
let world: SendWorld;
let mongo: MongoClient;
const bucket = `sf-ssrf-${randomBytes(4).toString("hex")}`;
const s3 = independentS3();

/** Every address form the policy must refuse, pointing at the trap port where there is one. */
function refusedEndpoints(): Array<[string, string]> {
  const p = trapPort;
  return [
    ["loopback", `http://127.0.0.1:${p}`],
    ["localhost", `http://localhost:${p}`],
    ["0.0.0.0", `http://0.0.0.0:${p}`],
    ["link-local (metadata)", "http://169.254.169.254"],
    ["private 10/8", `http://10.0.0.1:${p}`],
    ["private 172.16/12", `http://172.16.0.1:${p}`],
    ["private 192.168/16", `http://192.168.1.1:${p}`],
    ["CGNAT 100.64/10", `http://100.64.0.1:${p}`],
    ["IPv6 loopback", `http://[::1]:${p}`],
    ["IPv4-mapped loopback", `http://[::ffff:127.0.0.1]:${p}`],
    ["IPv6 unique-local", `http://[fd00::1]:${p}`],
    ["IPv6 link-local", `http://[fe80::1]:${p}`],
    ["decimal IPv4", `http://2130706433:${p}`],
    ["hex IPv4", `http://0x7f000001:${p}`],
    ["short IPv4", `http://127.1:${p}`],
    ["a name resolving to loopback", `http://loopback.skyferry.test:${p}`],
  ];
}

const configWith = (provider: "s3" | "azure", endpoint: string) =>
  provider === "s3" ? { ...stackAuthzConfig("s3"), endpoint } : { ...stackAuthzConfig("azure"), endpoint: `${endpoint}/${stackEnv().azure.account}` };

before(async () => {
  trap = net.createServer((s) => {
    trapHits++;
    s.destroy();
  });
  await new Promise<void>((r) => trap.listen(0, "127.0.0.1", r));
  trapPort = (trap.address() as AddressInfo).port;
  guard = installConnectGuard();
  guard.resolve("loopback.skyferry.test", "127.0.0.1");
  // The in-process transfer only plans; a separate worker process (below) runs jobs.
  world = await startSendWorld({ label: "edge-ssrf", transferEnv: { TRANSFER_WORKER_ENABLED: "false" } });
  mongo = await MongoClient.connect(stackEnv().mongoUrl);
  await createS3Bucket(s3, bucket);
});

after(async () => {
  await world?.close();
  await mongo?.close();
  guard?.uninstall();
  await removeS3Buckets(s3, [bucket]);
  s3.destroy();
  await new Promise<void>((r) => trap.close(() => r()));
});

describe("SSRF matrix: every refused address, for s3 and azure, at create, /test and send", () => {
  for (const provider of ["s3", "azure"] as const) {
    test(`${provider}: create answers 400 OUTBOUND_REFUSED naming config.endpoint; /test answers refused_address; send answers 400; nothing connects`, async () => {
      const user = await world.user();
      const hist = await world.history(user);
      await hist.add({ name: "a.txt", content: Buffer.from("hello") });
      // A record made before this policy existed (or whose name rebinds later): stored, then used.
      const legacy = await world.authz(user, provider);
      const docs = mongo.db(world.sys.db).collection<{ _id: string; config: Record<string, unknown> }>("cloud_authz");
      const attemptsBefore = guard.attempts.length;
      for (const [what, endpoint] of refusedEndpoints()) {
        const created = await api<{ code: string; field: string; err_msg: string }>(world.sys.url, "/api/cloud/authz", { key: user.apiKey, method: "POST", body: { provider, config: configWith(provider, endpoint) } });
        assert.equal(created.status, 400, `${what}: create ${JSON.stringify(created.body)}`);
        assert.equal(created.body.code, "OUTBOUND_REFUSED", what);
        assert.equal(created.body.field, "config.endpoint", what);
        assert.match(created.body.err_msg, /not allowed/, what);

        const stored = provider === "s3" ? endpoint : `${endpoint}/${stackEnv().azure.account}`;
        await docs.updateOne({ _id: legacy }, { $set: { "config.endpoint": stored } });
        const tested = await api<{ ok: boolean; code: string; reason: string }>(world.sys.url, `/api/cloud/authz/${legacy}/test`, { key: user.apiKey, method: "POST", body: { bucket } });
        assert.equal(tested.status, 200, what);
        assert.deepEqual([tested.body.ok, tested.body.code], [false, "refused_address"], `${what}: /test ${JSON.stringify(tested.body)}`);
        assert.doesNotMatch(JSON.stringify(tested.body), /ECONN|at .*\.ts:|\$response/, `${what}: no internal text`);

        const sent = await api<{ code: string; err_msg: string }>(world.sys.url, "/api/cloud/storage/send", { key: user.apiKey, method: "POST", body: { history_id: hist.id, authz_id: legacy, bucket } });
        assert.equal(sent.status, 400, `${what}: send ${JSON.stringify(sent.body)}`);
        assert.equal(sent.body.code, "STORAGE_OUTBOUND_REFUSED", what);
        assert.match(sent.body.err_msg, /not allowed/, what);
      }
      const jobs = await api<unknown[]>(world.sys.url, "/api/jobs", { key: user.apiKey });
      assert.deepEqual(jobs.body, [], "no job was queued");
      const dialled = guard.attempts.slice(attemptsBefore).filter((a) => a.port === trapPort || !["127.0.0.1", "::1"].includes(a.address));
      assert.deepEqual(dialled, [], "no connection was attempted to a refused address");
      assert.equal(trapHits, 0, "the trap listener saw no connection");
      assert.deepEqual(guard.violations, [], "nothing left loopback");
    });
  }

  test("azure authority_host is refused the same way at create", async () => {
    const user = await world.user();
    for (const host of [`https://127.0.0.1:${trapPort}`, `https://localhost:${trapPort}`, "https://169.254.169.254", `https://[::1]:${trapPort}`, `https://loopback.skyferry.test:${trapPort}`]) {
      const config = { storage_account: "someaccount", tenant_id: "tenant", client_id: "client", client_secret: "a-secret-value-of-length", authority_host: host };
      const r = await api<{ code: string; field: string }>(world.sys.url, "/api/cloud/authz", { key: user.apiKey, method: "POST", body: { provider: "azure", config } });
      assert.deepEqual([r.status, r.body.code, r.body.field], [400, "OUTBOUND_REFUSED", "config.authority_host"], host);
    }
    assert.equal(trapHits, 0);
  });

  test("DNS rebinding: a name public at create time and loopback at use is refused at /test, where the connection is made", async () => {
    const user = await world.user();
    guard.resolve("rebind.skyferry.test", "8.8.8.8");
    const created = await api<{ id: string }>(world.sys.url, "/api/cloud/authz", { key: user.apiKey, method: "POST", body: { provider: "s3", config: configWith("s3", `http://rebind.skyferry.test:${trapPort}`) } });
    assert.equal(created.status, 200, "public at create time");
    guard.resolve("rebind.skyferry.test", "127.0.0.1");
    const tested = await api<{ ok: boolean; code: string }>(world.sys.url, `/api/cloud/authz/${created.body.id}/test`, { key: user.apiKey, method: "POST", body: { bucket } });
    assert.deepEqual([tested.body.ok, tested.body.code], [false, "refused_address"]);
    assert.equal(trapHits, 0);
    assert.deepEqual(guard.violations, []);
  });

  test("the stack's allowlisted radosgw and Azurite still work: /test ok", async () => {
    const user = await world.user();
    for (const provider of ["s3", "azure"] as const) {
      const id = await world.authz(user, provider);
      const r = await api<{ ok: boolean }>(world.sys.url, `/api/cloud/authz/${id}/test`, { key: user.apiKey, method: "POST", body: {} });
      assert.equal(r.body.ok, true, `${provider}: ${JSON.stringify(r.body)}`);
    }
  });

  test("at run time a worker whose policy refuses the endpoint fails the job with refused_address, and nothing is written", async () => {
    const user = await world.user();
    const hist = await world.history(user);
    await hist.add({ name: "runtime.txt", content: Buffer.from("bytes that must not leave") });
    const authz = await world.authz(user, "s3");
    // Planned by the in-process transfer (radosgw allowlisted); run by a worker without that entry.
    const sent = await api<{ sent: Array<{ job_id: string; object: string }> }>(world.sys.url, "/api/cloud/storage/send", { key: user.apiKey, method: "POST", body: { history_id: hist.id, authz_id: authz, bucket } });
    assert.equal(sent.status, 200, JSON.stringify(sent.body));
    const worker = await spawnWorker({ ...workerEnv(world.sys), DATASET_STORE_DIR: world.sys.datasetDir, SKYFERRY_OUTBOUND_ALLOW: "" });
    try {
      const [job] = await waitForJobs(world.sys.url, user.apiKey, [sent.body.sent[0]!.job_id], 60_000);
      assert.equal(job!.state, "error");
      const error = job!.error as { failure?: string; message: string };
      assert.equal(error.failure, "refused_address", JSON.stringify(job!.error));
      assert.match(error.message, /not allowed/);
    } finally {
      await worker.stop();
    }
    await assert.rejects(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: sent.body.sent[0]!.object })), "the object was never written");
  });
});

describe("secrets bound to their destination", () => {
  test("changing the endpoint with the masked secret is refused (400 …must be entered again when the endpoint changes); the same endpoint keeps it", async () => {
    const user = await world.user();
    for (const provider of ["s3", "azure"] as const) {
      const id = await world.authz(user, provider);
      const view = await api<{ config: Record<string, string> }>(world.sys.url, `/api/cloud/authz/${id}`, { key: user.apiKey });
      const secretField = provider === "s3" ? "secret_access_key" : "account_key";
      const masked = view.body.config[secretField]!;
      assert.match(masked, /^\*{4}/);
      for (const endpoint of ["https://collector.example.org", provider === "s3" ? `${stackEnv().s3.endpoint}/other` : `${stackEnv().azure.endpoint}x`]) {
        const moved = await api<{ err_msg: string; field: string }>(world.sys.url, `/api/cloud/authz/${id}`, { key: user.apiKey, method: "PUT", body: { config: { ...view.body.config, endpoint } } });
        assert.equal(moved.status, 400, `${provider} → ${endpoint}: ${JSON.stringify(moved.body)}`);
        assert.equal(moved.body.field, `config.${secretField}`);
        assert.match(moved.body.err_msg, /must be entered again when the endpoint changes/);
      }
      const same = await api(world.sys.url, `/api/cloud/authz/${id}`, { key: user.apiKey, method: "PUT", body: { config: view.body.config, description: "renamed" } });
      assert.equal(same.status, 200, "the same destination keeps the stored secret");
      const tested = await api<{ ok: boolean }>(world.sys.url, `/api/cloud/authz/${id}/test`, { key: user.apiKey, method: "POST", body: {} });
      assert.equal(tested.body.ok, true, `${provider}: the kept secret still works`);
    }
  });

  test("a service principal's authority_host cannot be moved with the masked client_secret", async () => {
    const user = await world.user();
    const config = { storage_account: "someaccount", endpoint: stackEnv().azure.endpoint, tenant_id: "tenant", client_id: "client", client_secret: "a-client-secret-of-some-length" };
    const created = await api<{ id: string; config: Record<string, string> }>(world.sys.url, "/api/cloud/authz", { key: user.apiKey, method: "POST", body: { provider: "azure", config } });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const moved = await api<{ err_msg: string; field: string }>(world.sys.url, `/api/cloud/authz/${created.body.id}`, {
      key: user.apiKey,
      method: "PUT",
      body: { config: { ...created.body.config, authority_host: "https://login.collector.example.org" } },
    });
    assert.deepEqual([moved.status, moved.body.field], [400, "config.client_secret"]);
    assert.match(moved.body.err_msg, /must be entered again when the endpoint changes/);
  });
});

test("a send with a '..' prefix is refused with 400 naming prefix, and nothing is queued", async () => {
  const user = await world.user();
  const hist = await world.history(user);
  await hist.add({ name: "x.txt", content: Buffer.from("x") });
  const authz = await world.authz(user, "azure");
  for (const prefix of ["../other-container/", "a/../../b/", "x\u202Ey/"]) {
    const r = await api<{ field: string; err_code: number }>(world.sys.url, "/api/cloud/storage/send", { key: user.apiKey, method: "POST", body: { history_id: hist.id, authz_id: authz, bucket: "anything", prefix } });
    assert.deepEqual([r.status, r.body.field, r.body.err_code], [400, "prefix", 400008], JSON.stringify(prefix));
  }
  const tpl = await api<{ field: string }>(world.sys.url, "/api/cloud/storage/send", { key: user.apiKey, method: "POST", body: { history_id: hist.id, authz_id: authz, bucket: "anything", key_template: "../{name}" } });
  assert.deepEqual([tpl.status, tpl.body.field], [400, "key_template"]);
  assert.deepEqual((await api<unknown[]>(world.sys.url, "/api/jobs", { key: user.apiKey })).body, []);
});
