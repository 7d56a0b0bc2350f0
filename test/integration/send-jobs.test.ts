import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import type { Readable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { GetObjectCommand, HeadBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { type Bus, connectNats, createBus } from "@skyferry/bus";
import { AuthzIssueCredentials } from "@skyferry/contracts";
import type { NatsConnection } from "nats";
import { Pattern } from "../support/history.ts";
import {
  api, createS3Bucket, independentS3, type JobView, readS3, removeS3Buckets, s3MultipartUploads, sha256, sha256Stream, waitForJobs,
} from "../support/send.ts";
import { type SlowLink, startSlowLink } from "../support/slow-link.ts";
import { roleSession, type SendWorld, startSendWorld, type UploadedDataset } from "../support/send-system.ts";
import { natsCredentials, stackEnv, stackOutboundAllow, testBusOptions } from "../support/stack-env.ts";
import { signedActor } from "@skyferry/actor/testing";

// Jobs after the send, on the real services: a missing bucket (checked before queueing: 404 and no
// job; once the bucket exists the send goes through),
// cancel, Server-Sent Events, ownership, and credentials that live shorter than the upload: an
// `aws` authorization whose radosgw STS sessions last SESSION_SECONDS (authz caps them with
// SKYFERRY_AWS_MAX_SESSION_SECONDS; the stack's radosgw allows sessions down to 1 s), its uploads
// going through a link limited to LINK_BYTES_PER_SECOND so the upload lasts several lifetimes
// on any machine.

const SESSION_SECONDS = 2;
const LINK_BYTES_PER_SECOND = 8 * 1024 * 1024;
const BIG = new Pattern(80 * 1024 * 1024); // 16 parts of 5 MiB
const LONG = new Pattern(40 * 1024 * 1024); // >= 5 s over the slow link: at least 2.5 credential lifetimes
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("transfer jobs", () => {
  let w: SendWorld;
  let bus: Bus;
  let nc: NatsConnection;
  let link: SlowLink;
  const created: string[] = [];
  const track = (b: string) => (created.push(b), b);
  before(async () => {
    link = await startSlowLink(stackEnv().s3.endpoint, LINK_BYTES_PER_SECOND);
    w = await startSendWorld({
      label: "send-jobs",
      aws: true,
      // `aws` credentials name the slow link as their S3 endpoint; s3 and azure authorizations go direct.
      // The slow link is a loopback server the operator allowlists (SKYFERRY_OUTBOUND_ALLOW), like the stack's own.
      authzEnv: { SKYFERRY_AWS_MAX_SESSION_SECONDS: String(SESSION_SECONDS), SKYFERRY_AWS_S3_ENDPOINT: link.url, SKYFERRY_OUTBOUND_ALLOW: stackOutboundAllow(new URL(link.url).host) },
      // One 5 MiB part in flight per job (budget 10 MiB); renew credentials 1 s before they expire.
      transferEnv: { TRANSFER_PART_SIZE_MB: "5", TRANSFER_MEMORY_BUDGET_MB: "10", TRANSFER_CREDENTIAL_RENEW_SECONDS: "1", SKYFERRY_OUTBOUND_ALLOW: stackOutboundAllow(new URL(link.url).host) },
    });
    bus = await createBus({ ...testBusOptions(), namespace: w.sys.namespace, service: "send-jobs-test", logger: w.sys.logs.logger("test") });
    nc = await connectNats({ url: stackEnv().natsUrl, name: "send-jobs-test", identity: "operator", credentials: natsCredentials("operator") });
  });
  after(async () => {
    await removeS3Buckets(independentS3(), created);
    await nc?.close();
    await bus?.drain();
    await w?.close();
    await link?.close();
  });
  const sendOne = async (key: string, body: Record<string, unknown>) => {
    const r = await api<{ sent: Array<{ job_id: string }> }>(w.sys.url, "/api/cloud/storage/send", { key, method: "POST", body });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.sent.length, 1);
    return r.body.sent[0]!.job_id;
  };

  test("a missing bucket is refused before anything is queued (404, nothing to retry); once it exists, the send goes through", async () => {
    const [u, other] = await Promise.all([w.user(), w.user()]);
    const authzId = await w.authz(u, "s3");
    const hist = await w.history(u);
    const data = randomBytes(1000);
    await hist.add({ name: "r.bin", content: data });
    const bucket = `retry-${randomBytes(4).toString("hex")}`;
    // Checked before queueing (issue 20): 404 with the reason, and no job.
    const refused = await api<{ err_code: number; err_msg: string }>(w.sys.url, "/api/cloud/storage/send", { key: u.apiKey, method: "POST", body: { history_id: hist.id, authz_id: authzId, bucket } });
    assert.deepEqual([refused.status, refused.body.err_code], [404, 404001], JSON.stringify(refused.body));
    assert.match(refused.body.err_msg, /does not exist/);
    const jobs = await api<unknown[]>(w.sys.url, `/api/jobs?history_id=${hist.id}`, { key: u.apiKey });
    assert.deepEqual(jobs.body, [], "nothing queued");
    const early = await api<{ err_code: number }>(w.sys.url, "/api/jobs/0123456789abcdef/retry", { key: other.apiKey, method: "POST" });
    assert.deepEqual([early.status, early.body.err_code], [404, 404001], "no such job");
    await createS3Bucket(independentS3(), track(bucket));
    const id = await sendOne(u.apiKey, { history_id: hist.id, authz_id: authzId, bucket });
    const [ok] = await waitForJobs(w.sys.url, u.apiKey, [id]);
    assert.equal(ok!.state, "ok", JSON.stringify(ok!.error));
    assert.equal(sha256((await readS3(independentS3(), bucket, "r.bin")).body), sha256(data));
    const again = await api<{ err_code: number }>(w.sys.url, `/api/jobs/${id}/retry`, { key: u.apiKey, method: "POST" });
    assert.equal(again.status, 400, "only a failed job can be retried");
  });

  describe("on an 80 MiB dataset", () => {
    let user: Awaited<ReturnType<SendWorld["user"]>>;
    let authzId: string;
    let historyId: string;
    let big: UploadedDataset;
    before(async () => {
      user = await w.user();
      authzId = await w.authz(user, "s3");
      const hist = await w.history(user);
      historyId = hist.id;
      [big] = (await hist.add({ name: "big.bin", content: BIG })) as [UploadedDataset];
    });

    test("cancel aborts a running upload: state deleted, no object, no multipart upload left", async () => {
      const bucket = track(`cancel-${randomBytes(4).toString("hex")}`);
      await createS3Bucket(independentS3(), bucket);
      const id = await sendOne(user.apiKey, { history_id: historyId, authz_id: authzId, bucket, dataset_ids: [big.id] });
      let seen: JobView | undefined;
      for (let i = 0; i < 400; i++) {
        seen = (await api<JobView>(w.sys.url, `/api/jobs/${id}`, { key: user.apiKey })).body;
        if (seen.state === "running" && seen.bytes_done > 0) break;
        await sleep(25);
      }
      assert.equal(seen?.state, "running", "caught the upload running");
      assert.ok(seen && seen.bytes_done < BIG.size, "caught it mid-upload");
      const cancelled = await api<JobView>(w.sys.url, `/api/jobs/${id}`, { key: user.apiKey, method: "DELETE" });
      assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
      assert.equal(cancelled.body.state, "deleted");
      await sleep(500);
      assert.equal((await api<JobView>(w.sys.url, `/api/jobs/${id}`, { key: user.apiKey })).body.state, "deleted");
      assert.deepEqual(await s3MultipartUploads(independentS3(), bucket), []);
      await assert.rejects(readS3(independentS3(), bucket, "big.bin"), { name: "NoSuchKey" });
    });

    test("GET /api/jobs/{id}/events streams progress (at most every 500 ms) and the final state", async () => {
      const bucket = track(`sse-${randomBytes(4).toString("hex")}`);
      await createS3Bucket(independentS3(), bucket);
      const id = await sendOne(user.apiKey, { history_id: historyId, authz_id: authzId, bucket, dataset_ids: [big.id] });
      const res = await fetch(`${w.sys.url}/api/jobs/${id}/events?key=${user.apiKey}`);
      assert.equal(res.headers.get("content-type"), "text/event-stream");
      const text = await res.text();
      const events = text
        .split("\n\n")
        .filter((b) => b.startsWith("event:"))
        .map((b) => ({ event: /^event: (\w+)/.exec(b)![1]!, data: JSON.parse(/\ndata: (.*)$/s.exec(b)![1]!) as { state: string; bytes_done: number; time?: string } }));
      assert.equal(events[0]!.event, "state");
      assert.equal(events.at(-1)!.event, "completed");
      assert.equal(events.at(-1)!.data.state, "ok");
      assert.equal(events.at(-1)!.data.bytes_done, BIG.size);
      const progress = events.filter((e) => e.event === "progress");
      assert.ok(progress.length > 0, "progress events were streamed");
      assert.ok(progress.every((p, i) => i === 0 || p.data.bytes_done >= progress[i - 1]!.data.bytes_done));
      const other = await w.user();
      assert.equal((await fetch(`${w.sys.url}/api/jobs/${id}/events?key=${other.apiKey}`)).status, 404, "another user's job");
    });
  });

  test("another user's job is 404 everywhere; malformed ids are 400", async () => {
    const [u, other] = await Promise.all([w.user(), w.user()]);
    const authzId = await w.authz(u, "s3");
    const hist = await w.history(u);
    await hist.add({ name: "o.txt", content: Buffer.from("o") });
    const bucket = track(`own-${randomBytes(4).toString("hex")}`);
    await createS3Bucket(independentS3(), bucket); // a send checks its bucket exists before queuing
    const id = await sendOne(u.apiKey, { history_id: hist.id, authz_id: authzId, bucket });
    for (const [method, path] of [["GET", `/api/jobs/${id}`], ["DELETE", `/api/jobs/${id}`], ["POST", `/api/jobs/${id}/retry`], ["GET", `/api/jobs/${id}/events`]] as const) {
      const r = await api<{ err_code: number }>(w.sys.url, path, { key: other.apiKey, method });
      assert.equal(r.status, 404, `${method} ${path}`);
      assert.equal(r.body.err_code, 404001);
    }
    assert.deepEqual((await api<JobView[]>(w.sys.url, `/api/jobs?history_id=${hist.id}`, { key: other.apiKey })).body, []);
    assert.equal((await api<JobView[]>(w.sys.url, `/api/jobs?history_id=${hist.id}`, { key: u.apiKey })).body.length, 1);
    const malformed = await api<{ err_code: number }>(w.sys.url, "/api/jobs/zz", { key: u.apiKey });
    assert.deepEqual([malformed.status, malformed.body.err_code], [400, 400009]);
    await waitForJobs(w.sys.url, u.apiKey, [id]);
  });

  test("credentials that live shorter than the upload are renewed and the transfer completes", async (t) => {
    const u = await w.user();
    const authzId = await w.authz(u, "aws");
    const hist = await w.history(u);
    await hist.add({ name: "long.bin", content: LONG });
    const bucket = track(`creds-${randomBytes(4).toString("hex")}`);
    await createS3Bucket(independentS3(), bucket);
    // Every credential request for this authorization, seen on the bus (a plain subscriber beside
    // the authz service's queue group: it sees the requests, it answers none).
    const asked: number[] = [];
    const sub = nc.subscribe(AuthzIssueCredentials.subject(w.sys.namespace), {
      callback: (_err, msg) => {
        const data = (msg.json() as { data?: { authz_id?: string } }).data;
        if (data?.authz_id === authzId) asked.push(Date.now());
      },
    });
    await nc.flush();
    const id = await sendOne(u.apiKey, { history_id: hist.id, authz_id: authzId, bucket });

    // Meanwhile: the credentials this authorization hands out really stop working at expires_at
    // (radosgw refuses an expired session), so an upload outliving them needs fresh ones.
    const expiry = (async () => {
      const issued = await bus.request(AuthzIssueCredentials, { actor: await signedActor(u.userId, w.sys.namespace), authz_id: authzId });
      assert.ok(issued.expires_at, "aws credentials expire");
      const life = Date.parse(issued.expires_at) - Date.now();
      assert.ok(life > 0 && life <= SESSION_SECONDS * 1000 + 500, `credentials live at most ${SESSION_SECONDS} s (${life} ms left)`);
      const c = issued.credentials;
      assert.equal(c.kind, "s3");
      if (c.kind !== "s3") return;
      const client = new S3Client({
        endpoint: c.endpoint, region: c.region, forcePathStyle: c.force_path_style,
        credentials: { accessKeyId: c.access_key_id, secretAccessKey: c.secret_access_key, ...(c.session_token ? { sessionToken: c.session_token } : {}) },
      });
      try {
        await client.send(new HeadBucketCommand({ Bucket: bucket }));
        await sleep(life + 300);
        await assert.rejects(client.send(new HeadBucketCommand({ Bucket: bucket })), (err: { $metadata?: { httpStatusCode?: number } }) => err.$metadata?.httpStatusCode === 403);
      } finally {
        client.destroy();
      }
    })();

    const [job] = await waitForJobs(w.sys.url, u.apiKey, [id], 180_000);
    await expiry;
    sub.unsubscribe();
    assert.equal(job!.state, "ok", JSON.stringify(job!.error));
    assert.equal(job!.bytes_done, LONG.size);
    const seconds = (Date.parse(String(job!.update_time)) - Date.parse(String(job!.create_time))) / 1000;
    assert.ok(link.bytesUp() >= LONG.size, "the upload went through the slow link");
    assert.ok(seconds > 2 * SESSION_SECONDS, `the upload (${seconds} s) outlived at least two credential lifetimes (${SESSION_SECONDS} s)`);
    // The send's check, the worker's first credentials, the probe above, and renewals during the upload.
    t.diagnostic(`upload ${seconds} s with ${SESSION_SECONDS} s credentials; asked for credentials ${asked.length} times`);
    assert.ok(asked.length >= 4, `credentials asked for ${asked.length} times during a ${seconds} s upload`);
    const reader = await roleSession(w.oidc, w.role!);
    try {
      const got = await reader.send(new GetObjectCommand({ Bucket: bucket, Key: "long.bin" }));
      assert.equal(await sha256Stream(got.Body as Readable), (await LONG.digests()).sha256);
      assert.deepEqual(await s3MultipartUploads(reader, bucket), [], "no multipart upload left behind");
      await removeS3Buckets(reader, [bucket]);
    } finally {
      reader.destroy();
    }
  });
});
