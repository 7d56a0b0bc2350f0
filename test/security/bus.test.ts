import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import {
  AuthzApiKeyCreate, AuthzIssueCredentials, AuthzResolveActor, DatasetGet, HistoryContentsList, HistoryCreate, HistoryDatasetsForSend, HistoryGet, HistoryImportCreate,
  HistoryImportFail, HistoryImportFinish, HistoryImportFinishBatch, HistoryImportStart, HistoryList,
  TransferJobsStream, TransferJobWork, TransferSend, TransferSendPaged,
} from "@skyferry/contracts";
import { shardedKey } from "@skyferry/dataset-store";
import { MongoClient } from "mongodb";
import { AckPolicy, RetentionPolicy, StorageType } from "nats";
import { type MockOidc, oidcEnv, signIn, type SignedIn, startOidcProvider } from "../support/auth.ts";
import { uploadMultipart } from "../support/history.ts";
import { api, createS3Bucket, independentS3, removeS3Buckets, waitForJobs } from "../support/send.ts";
import { stackAuthzConfig } from "../support/send-system.ts";
import { stackEnv } from "../support/stack-env.ts";
import { startSystem, type System } from "../support/system.ts";
import {
  type Attacker, type Attempt, assertion, captureAsTransfer, classifyError, type Connected, connectAs, describeOutcome, envelope, forgerKey, forgeWork, gatewayKey, grantAttacks, holes, badAssertions, record,
  IDENTITIES, isRefusal, jsPublish, type Outcome, plaintextProbe, rpc, seedOf, summary, type TrustEnv, trustEnv, tryPublish, trySubscribe, waitFor,
} from "./support.ts";

// Issue 18's findings 1–6, replayed against the real services on the stack's TLS NATS: as nobody, as
// a random NKey, over plaintext, and as each identity of docs/trust.md reaching beyond its rights.
// Every attempt must end in a refusal issue 18 accepts (connection refused, subject denied, or a coded
// 401/403 reply) with nothing issued, created, queued or copied; the matrices report every hole at once.

const ATTACKERS: Attacker[] = ["anonymous", "random-nkey", ...IDENTITIES];
const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

describe("NATS itself: no connection without an identity's key over TLS; no subscriber but monitor reads the bus (finding 6)", () => {
  let env: TrustEnv;
  const conns = new Map<Attacker, Connected>();
  const conn = (who: Attacker) => conns.get(who)!;
  // Permissions are granted for any namespace (`*.rpc…`): a namespace of its own is as good as a test system's.
  const ns = `t-bustransport-${randomBytes(4).toString("hex")}`;
  before(async () => {
    env = trustEnv();
    for (const who of ATTACKERS) conns.set(who, await connectAs(env, who));
  });
  after(async () => {
    for (const c of conns.values()) await c.nc?.close();
  });

  test("connections: none without credentials, none with a random NKey, every identity of the seed folder with its own", () => {
    for (const who of ["anonymous", "random-nkey"] as const) {
      const c = conn(who);
      assert.ok(c.refused, `${who} connected`);
      assert.match(c.refused, /AUTHORIZATION_VIOLATION/, `${who}: ${c.refused}`);
    }
    for (const who of IDENTITIES) assert.ok(conn(who).nc, `${who} could not connect (${conn(who).refused}): the matrices below would test nothing`);
  });

  test("a plaintext connection is refused even with a valid identity's seed: no PONG, nothing delivered, closed by the server", async () => {
    const probe = await plaintextProbe(env.natsUrl, seedOf(env, "gateway"));
    assert.ok(probe.info === undefined || probe.info.tls_required === true, `INFO offers plaintext: ${JSON.stringify(probe.info)}`);
    assert.doesNotMatch(probe.after, /PONG|MSG |\+OK/, `the server answered in clear: ${probe.after}`);
    assert.equal(probe.closedByServer, true, "the server kept the plaintext connection open");
  });

  test("finding 6: only monitor may subscribe to > (or _INBOX.>, <ns>.>, another identity's inbox, authz's requests); no one else reads the bus", async (t) => {
    const rows: Attempt[] = [];
    await Promise.all(ATTACKERS.filter((a) => a !== "monitor").map(async (who) => {
      // Besides everything: other identities' replies (credentials come back on transfer's inbox) and authz's requests (keys, sessions).
      const subjects: Array<[string, Attacker[]]> = [[">", []], ["_INBOX.>", []], [`${ns}.>`, []], ["_INBOX.transfer.>", ["transfer"]], [`${ns}.rpc.authz.>`, ["authz"]]];
      for (const [subject, own] of subjects) {
        if (!own.includes(who)) rows.push({ who, what: `subscribe ${subject}`, subject, outcome: await trySubscribe(conn(who), subject) });
      }
    }));
    // operator exists only in the local stack, with every right (docs/trust.md): not an attacker here.
    t.diagnostic(summary(rows));
    assert.deepEqual(holes(rows.filter((r) => r.who !== "operator")), []);
    assert.ok(rows.every((r) => !(r as { received?: number }).received || r.who === "operator"), "a denied subscriber received messages");
  });


  test("events and work are published only by their publishers (job events, aborts and work by transfer, key revocations by authz); nobody writes into another's inbox", async (t) => {
    const id = randomBytes(8).toString("hex");
    const events: Array<[string, Attacker[]]> = [
      [`${ns}.transfer.job.${id}.completed`, ["transfer"]], [`${ns}.transfer.job.${id}.failed`, ["transfer"]], [`${ns}.transfer.job.${id}.progress`, ["transfer"]],
      [`${ns}.transfer.control.${id}.abort`, ["transfer"]], [`${ns}.transfer.work.${id}`, ["transfer"]], [`${ns}.authz.api-keys.revoked.${id}`, ["authz"]],
      // A forged reply in another identity's inbox (credentials for transfer, a resolved actor for the gateway): only answers to requests received.
      [`_INBOX.transfer.${id}`, []], [`_INBOX.gateway.${id}`, []],
    ];
    const rows: Attempt[] = [];
    await Promise.all(ATTACKERS.filter((a) => a !== "operator").map(async (who) => {
      for (const [subject, publishers] of events) if (!publishers.includes(who)) rows.push({ who, what: `publish ${subject}`, subject, outcome: await tryPublish(conn(who), subject) });
    }));
    t.diagnostic(summary(rows));
    assert.deepEqual(holes(rows), []);
  });

  test("transfer may not make a stream of other identities' subjects (reading the bus through JetStream)", async () => {
    const r = await captureAsTransfer(conn("transfer").nc!, conn("operator").nc!, `SNIFF_${randomBytes(4).toString("hex").toUpperCase()}`, "create", TransferJobWork.pattern(ns));
    await r.cleanup();
    assert.equal(r.captures, false, `${describeOutcome(r.outcome)}${r.evidence}`);
    assert.ok(r.outcome.kind !== "answered", describeOutcome(r.outcome));
  });

  test("transfer may not widen its own work stream to capture other identities' replies", async () => {
    const name = TransferJobsStream.name(ns);
    // The stream as the provisioning makes it before the services start (transfer may not: docs/trust.md).
    const jsm = await conn("operator").nc!.jetstreamManager();
    await jsm.streams.add({ name, subjects: [TransferJobWork.pattern(ns)], retention: RetentionPolicy.Workqueue, storage: StorageType.Memory });
    const r = await captureAsTransfer(conn("transfer").nc!, conn("operator").nc!, name, "update", TransferJobWork.pattern(ns));
    await r.cleanup();
    assert.equal(r.captures, false, `${describeOutcome(r.outcome)}${r.evidence}`);
  });

  test("transfer may not create or change a consumer: no push consumer delivering into another identity's inbox, no filtered or other durable (pull consumption only)", async (t) => {
    const name = TransferJobsStream.name(ns);
    const opm = await conn("operator").nc!.jetstreamManager();
    await opm.streams.add({ name, subjects: [TransferJobWork.pattern(ns)], retention: RetentionPolicy.Workqueue, storage: StorageType.Memory }).catch(() => undefined);
    const jsm = await conn("transfer").nc!.jetstreamManager({ checkAPI: false });
    const attempts: Array<[string, Parameters<typeof jsm.consumers.add>[1]]> = [
      ["its durable, pushing to the gateway's inbox", { durable_name: "transfer-workers", deliver_subject: "_INBOX.gateway.pushed", ack_policy: AckPolicy.None }],
      ["its durable, filtered", { durable_name: "transfer-workers", filter_subject: TransferJobWork.subject(ns, "x"), ack_policy: AckPolicy.Explicit }],
      ["another durable", { durable_name: "sniffer", ack_policy: AckPolicy.Explicit }],
      ["an ephemeral push consumer", { deliver_subject: "_INBOX.transfer.pushed", ack_policy: AckPolicy.None }],
    ];
    const rows: string[] = [];
    try {
      for (const [what, config] of attempts) {
        let outcome: Outcome;
        try {
          await jsm.consumers.add(name, config);
          outcome = { kind: "answered", text: "created" };
        } catch (err) {
          outcome = classifyError(err);
        }
        rows.push(`${what}: ${describeOutcome(outcome)}`);
        if (outcome.kind !== "denied") assert.fail(`transfer made a consumer (${what}): ${describeOutcome(outcome)}`);
      }
      const left = await opm.consumers.list(name).next();
      assert.deepEqual(left.map((c) => c.name), [], "no consumer was made");
    } finally {
      t.diagnostic(rows.join("\n"));
      await opm.streams.delete(name).catch(() => undefined);
    }
  });
});

describe("the services trust no message (issue 18 findings 1–6, bad actor assertions)", () => {
  let env: TrustEnv;
  let oidc: MockOidc;
  let sys: System;
  let mongo: MongoClient;
  let victim: SignedIn;
  let thief: SignedIn;
  let victimAuthz: string;
  let thiefAuthz: string;
  let authzBefore: { status: string; last_activity: string };
  let keyBefore: string;
  const victimHistory = { id: "", name: `victim-history-${randomBytes(6).toString("hex")}` };
  const victimDataset = { id: "", name: `victim-data-${randomBytes(6).toString("hex")}.txt`, content: randomBytes(4096) };
  const thiefBucket = `bus-thief-${randomBytes(4).toString("hex")}`;
  const conns = new Map<Attacker, Connected>();
  const s3 = independentS3();
  const conn = (who: Attacker) => conns.get(who)!;
  const ns = () => sys.namespace;
  const aud = () => `skyferry:${sys.namespace}`;
  /** The actor fields an attacker can make up: the victim's id, bare or with a forged assertion. */
  const madeUpActors = () => [
    ["no assertion", { user_id: victim.userId }],
    ["forged assertion", { user_id: victim.userId, assertion: assertion(forgerKey(), { sub: victim.userId, aud: aud() }) }],
  ] as const;

  before(async () => {
    env = trustEnv();
    oidc = await startOidcProvider();
    // No API-key cache: every request with a key is resolved over the bus (finding 6 watches it).
    sys = await startSystem({ label: "bus-trust", env: { authz: oidcEnv(oidc), gateway: { SKYFERRY_API_KEY_CACHE_MS: "0" } } });
    mongo = await MongoClient.connect(stackEnv().mongoUrl);
    [victim, thief] = [await signIn(sys), await signIn(sys)];
    const defineS3 = async (u: SignedIn) => {
      const r = await api<{ id: string; status: string; last_activity: string }>(sys.url, "/api/cloud/authz", { key: u.apiKey, method: "POST", body: { provider: "s3", config: stackAuthzConfig("s3") } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body;
    };
    const va = await defineS3(victim);
    victimAuthz = va.id;
    authzBefore = { status: va.status, last_activity: va.last_activity };
    thiefAuthz = (await defineS3(thief)).id;
    const h = await api<{ id: string }>(sys.url, "/api/histories", { key: victim.apiKey, method: "POST", body: { name: victimHistory.name } });
    assert.equal(h.status, 200);
    victimHistory.id = h.body.id;
    const up = await uploadMultipart(sys.url, victim.apiKey, victimHistory.id, [{ name: victimDataset.name, content: victimDataset.content }]);
    assert.equal(up.status, 200, JSON.stringify(up.body));
    victimDataset.id = String(up.body.outputs?.[0]?.id);
    await createS3Bucket(s3, thiefBucket);
    keyBefore = await keyCreated(victim);
    for (const who of ATTACKERS) conns.set(who, await connectAs(env, who));
    for (const who of IDENTITIES) assert.ok(conn(who).nc, `${who} could not connect (${conn(who).refused}): the matrices would test nothing`);
  });

  after(async () => {
    // The namespace's work stream (a forged message may still be in it); also when set-up stopped before connecting.
    if (sys && env) {
      const op = conns.get("operator") ?? (await connectAs(env, "operator"));
      await op.nc?.jetstreamManager().then((jsm) => jsm.streams.delete(TransferJobsStream.name(sys.namespace))).catch(() => undefined);
      if (!conns.has("operator")) await op.nc?.close();
    }
    for (const c of conns.values()) await c.nc?.close();
    await removeS3Buckets(s3, [thiefBucket]);
    s3.destroy();
    await mongo?.close();
    await sys?.close();
    await oidc?.close();
  });

  const keyCreated = async (u: SignedIn) => {
    const r = await api<{ create_time: string }>(sys.url, "/api/users/current/api_key/detailed", { key: u.apiKey });
    assert.equal(r.status, 200, `the user's key still works: ${JSON.stringify(r.body)}`);
    return r.body.create_time;
  };
  const bucketKeys = async () => ((await s3.send(new ListObjectsV2Command({ Bucket: thiefBucket }))).Contents ?? []).map((o) => o.Key!);
  const victimJobs = async () => {
    const r = await api<unknown[]>(sys.url, `/api/jobs?history_id=${victimHistory.id}`, { key: victim.apiKey });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return { http: r.body.length, mongo: await mongo.db(sys.db).collection("transfer_jobs").countDocuments({ user_id: victim.userId }) };
  };

  /** Every attacker × made-up actor × request; `build` gives the subject and request type and data. */
  const matrix = async (build: (actor: Record<string, unknown>) => Array<{ what: string; subject: string; type: string; data: unknown }>, attackers = ATTACKERS) => {
    const rows: Attempt[] = [];
    await Promise.all(attackers.map(async (who) => {
      for (const [variant, actor] of madeUpActors()) {
        for (const r of build(actor)) rows.push({ who, what: `${r.what} (${variant})`, subject: r.subject, outcome: await rpc(conn(who), r.subject, envelope(r.type, r.data)) });
      }
    }));
    return rows;
  };

  test("finding 1: nobody obtains another user's cloud credentials (credentials.issue)", async (t) => {
    const rows = await matrix((actor) => [{ what: "credentials.issue", subject: AuthzIssueCredentials.subject(ns()), type: AuthzIssueCredentials.requestType, data: { actor, authz_id: victimAuthz } }]);
    t.diagnostic(summary(rows));
    assert.deepEqual(holes(rows), []);
    const secret = stackAuthzConfig("s3").secret_access_key as string;
    assert.ok(!JSON.stringify(rows).includes(secret), "the victim's secret access key is in a reply");
    const now = await api<{ status: string; last_activity: string }>(sys.url, `/api/cloud/authz/${victimAuthz}`, { key: victim.apiKey });
    assert.deepEqual({ status: now.body.status, last_activity: now.body.last_activity }, authzBefore, "credentials were issued for the victim's authorization");
  });

  test("finding 2: nobody creates an API key for another user (api-key.create); the victim's key keeps working", async (t) => {
    const rows = await matrix((actor) => [{ what: "api-key.create", subject: AuthzApiKeyCreate.subject(ns()), type: AuthzApiKeyCreate.requestType, data: { actor } }]);
    t.diagnostic(summary(rows));
    assert.deepEqual(holes(rows), []);
    assert.ok(!rows.some((r) => r.outcome.kind === "answered"), "a key was answered");
    const me = await api<{ id: string }>(sys.url, "/api/users/current", { key: victim.apiKey });
    assert.deepEqual([me.status, me.body.id], [200, victim.userId]);
    assert.equal(await keyCreated(victim), keyBefore, "a new key replaced the victim's");
  });

  test("finding 3: nobody lists another user's histories or contents", async (t) => {
    const rows = await matrix((actor) => [
      { what: "histories.list", subject: HistoryList.subject(ns()), type: HistoryList.requestType, data: { actor } },
      { what: "histories.get", subject: HistoryGet.subject(ns()), type: HistoryGet.requestType, data: { actor, history_id: victimHistory.id } },
      { what: "contents.list", subject: HistoryContentsList.subject(ns()), type: HistoryContentsList.requestType, data: { actor, history_id: victimHistory.id } },
      { what: "datasets.get", subject: DatasetGet.subject(ns()), type: DatasetGet.requestType, data: { actor, dataset_id: victimDataset.id } },
      { what: "datasets.for-send", subject: HistoryDatasetsForSend.subject(ns()), type: HistoryDatasetsForSend.requestType, data: { actor, history_id: victimHistory.id } },
    ]);
    t.diagnostic(summary(rows));
    assert.deepEqual(holes(rows), []);
    const seen = JSON.stringify(rows);
    assert.ok(!seen.includes(victimHistory.name) && !seen.includes(victimDataset.name), "a reply names the victim's history or dataset");
  });

  test("imports: no one creates, starts, finishes or fails an item of another user's history; transfer's unsigned calls touch only importing items", async (t) => {
    const item_id = victimDataset.id;
    const finish = { actor: { user_id: victim.userId }, item_id, store_key: shardedKey(item_id), size: 1, sha256: "0".repeat(64), md5: "0".repeat(32), ext: "txt" };
    const calls: Array<[{ subject(ns: string): string; requestType: string; name: string }, unknown]> = [
      [HistoryImportCreate, { actor: { user_id: victim.userId }, history_id: victimHistory.id, items: [{ name: "planted.txt" }] }],
      [HistoryImportStart, { actor: { user_id: victim.userId }, item_id }],
      [HistoryImportFinish, finish],
      [HistoryImportFinishBatch, { items: [finish] }],
      [HistoryImportFail, { actor: { user_id: victim.userId }, item_id, reason: "planted", deleted: true }],
    ];
    const rows: Attempt[] = [];
    await Promise.all(ATTACKERS.map(async (who) => {
      for (const [c, data] of calls) rows.push({ who, what: c.name, subject: c.subject(ns()), outcome: await rpc(conn(who), c.subject(ns()), envelope(c.requestType, data)) });
    }));
    t.diagnostic(summary(rows));
    // 404: not an importing item of that user (history's answer to the identities that may call); a batch answers it per item.
    const batchRefused = (o: Outcome) => o.kind === "answered" && (JSON.parse(o.text) as { data?: { results?: Array<{ error?: { status: number } }> } }).data?.results?.every((r) => [401, 403, 404].includes(r.error?.status ?? 0)) === true;
    assert.deepEqual(holes(rows, (a) => isRefusal(a.outcome, a.subject) || (a.outcome.kind === "error-reply" && a.outcome.status === 404) || batchRefused(a.outcome)), []);
    const d = await api<{ state: string; file_size: number; deleted: boolean }>(sys.url, `/api/datasets/${item_id}`, { key: victim.apiKey });
    assert.deepEqual([d.body.state, d.body.file_size, d.body.deleted], ["ok", victimDataset.content.length, false], "the victim's dataset was changed");
    const contents = await api<unknown[]>(sys.url, `/api/histories/${victimHistory.id}/contents`, { key: victim.apiKey });
    assert.equal(contents.body.length, 1, "an item was planted in the victim's history");
  });

  test("finding 4: nobody sends another user's history (transfer.send v1/v2, the public subject): no job, nothing in the bucket", async (t) => {
    const send = (actor: Record<string, unknown>) => ({ actor, history_id: victimHistory.id, authz_id: victimAuthz, bucket: thiefBucket, idempotency_key: randomBytes(6).toString("hex") });
    const rows = await matrix((actor) => [
      { what: "transfer.send.v1", subject: TransferSend.subject(ns()), type: TransferSend.requestType, data: send(actor) },
      { what: "transfer.send.v2", subject: TransferSendPaged.subject(ns()), type: TransferSendPaged.requestType, data: send(actor) },
    ]);
    // An external publisher proves a user with their API key's hash; naming the victim's ids with an
    // unknown key, or with its own user's key, gets what HTTP answers: 401, or 404 (not its history).
    const pub = `${ns()}.rpc.public.transfer.send.v1`;
    const body = { history_id: victimHistory.id, authz_id: victimAuthz, bucket: thiefBucket };
    for (const [what, key] of [["an unknown key", `sk-${randomBytes(16).toString("hex")}`], ["the thief's own key", thief.apiKey]] as const) {
      const outcome = await rpc(conn("publisher-example"), pub, envelope("skyferry.public.transfer.send.request.v1", { ...body, api_key_sha256: sha256(key) }));
      rows.push({ who: "publisher-example", what: `public send with ${what}`, subject: pub, outcome });
    }
    const publicOk = (a: Attempt) => isRefusal(a.outcome, a.subject) || (a.what.includes("own key") && a.outcome.kind === "error-reply" && a.outcome.status === 404);
    t.diagnostic(summary(rows));
    assert.deepEqual(holes(rows, publicOk), []);
    assert.ok(rows.some((r) => r.who === "publisher-example" && r.subject === pub && r.outcome.kind === "error-reply"), "the public subject answered nothing: is the gateway serving it?");
    // A queued send would start within a second or two: wait long enough for a worker to have acted.
    await new Promise((r) => setTimeout(r, 5000));
    assert.deepEqual(await victimJobs(), { http: 0, mongo: 0 }, "a job was created for the victim");
    assert.deepEqual(await bucketKeys(), [], "objects arrived in the thief's bucket");
  });

  test("finding 5: a forged work message copies nothing: refused without publish rights, ignored by the worker with them", { timeout: 90_000 }, async (t) => {
    const forge = () => forgeWork(ns(), {
      user_id: thief.userId, history_id: victimHistory.id, dataset_id: victimDataset.id, store_key: shardedKey(victimDataset.id), authz_id: thiefAuthz, bucket: thiefBucket,
      bytes_total: victimDataset.content.length,
    });
    const publish = jsPublish;
    const planners = new Set<Attacker>(["transfer", "operator"]);
    const rows: Attempt[] = [];
    for (const who of ATTACKERS.filter((a) => !planners.has(a))) {
      const f = forge();
      rows.push({ who, what: "forged work message", subject: f.subject, outcome: await publish(conn(who), f) });
    }
    t.diagnostic(summary(rows));
    assert.deepEqual(holes(rows), []);
    // The send planner's identity (and the stack's operator) may publish work: a compromised planner.
    const jsm = await conn("operator").nc!.jetstreamManager();
    const forgedIds: string[] = [];
    for (const who of planners) {
      const f = forge();
      const out = await publish(conn(who), f);
      assert.equal(out.kind, "answered", `${who} may publish work (docs/trust.md): ${describeOutcome(out)}`);
      forgedIds.push(f.id);
      const handled = await waitFor(async () => {
        const info = await jsm.consumers.info(TransferJobsStream.name(ns()), "transfer-workers");
        return info.delivered.stream_seq >= out.seq! && info.num_ack_pending === 0 && info.num_pending === 0;
      }, 15_000);
      assert.ok(handled, `no worker took ${who}'s forged message within 15 s`);
    }
    // The copy, if any, lands within seconds of the delivery: watch the bucket for 10 s more.
    const copied = await waitFor(async () => (await bucketKeys()).length > 0, 10_000, 500);
    assert.deepEqual(await bucketKeys(), [], `the worker copied the victim's dataset into the thief's bucket${copied ? "" : " (late)"}`);
    assert.equal(await mongo.db(sys.db).collection("transfer_jobs").countDocuments({ _id: { $in: forgedIds } } as never), 0, "the forged jobs were recorded as real ones");
    // Control: a job the database holds (the thief's own send) does reach this bucket, so the check above could see a copy.
    const h = await api<{ id: string }>(sys.url, "/api/histories", { key: thief.apiKey, method: "POST", body: { name: "own" } });
    const up = await uploadMultipart(sys.url, thief.apiKey, h.body.id, [{ name: "own.txt", content: Buffer.from("the thief's own bytes") }]);
    assert.equal(up.status, 200, JSON.stringify(up.body));
    const sent = await api<{ sent: Array<{ job_id: string }> }>(sys.url, "/api/cloud/storage/send", { key: thief.apiKey, method: "POST", body: { history_id: h.body.id, authz_id: thiefAuthz, bucket: thiefBucket } });
    assert.equal(sent.status, 200, JSON.stringify(sent.body));
    const [job] = await waitForJobs(sys.url, thief.apiKey, sent.body.sent.map((j) => j.job_id), 30_000);
    assert.equal(job?.state, "ok", JSON.stringify(job?.error));
    assert.deepEqual(await bucketKeys(), ["own.txt"]);
  });

  test("job grants: no credentials for another user's authorization with a forged grant, or with another authorization's grant", async (t) => {
    const own = await mongo.db(sys.db).collection<{ grant?: string }>("transfer_jobs").findOne({ user_id: thief.userId });
    assert.ok(own?.grant, "the thief's job (finding 5's control send) carries no grant");
    const attempts = grantAttacks(own.grant, victim.userId, victimAuthz);
    const rows: Attempt[] = [];
    const subject = AuthzIssueCredentials.subject(ns());
    for (const who of ATTACKERS) {
      for (const [what, data] of attempts) rows.push({ who, what, subject, outcome: await rpc(conn(who), subject, envelope(AuthzIssueCredentials.requestType, data)) });
    }
    t.diagnostic(summary(rows));
    const notFound = (a: Attempt) => isRefusal(a.outcome, a.subject) || (a.outcome.kind === "error-reply" && a.outcome.status === 404);
    assert.deepEqual(holes(rows, notFound), []);
    assert.ok(!rows.some((r) => r.outcome.kind === "answered"), "credentials were answered");
    // Control: the thief's grant for its own authorization is honoured (for transfer), so the refusals above are the grant's.
    const control = await rpc(conn("transfer"), subject, envelope(AuthzIssueCredentials.requestType, { grant: own.grant, authz_id: thiefAuthz }));
    assert.equal(control.kind, "answered", describeOutcome(control));
  });

  test("finding 6: monitor sees the traffic of a user's requests, but never their API key or session id", async () => {
    const monitor = conn("monitor").nc!;
    const { seen, sub } = await record(monitor, ">");
    try {
      const session = victim.cookie.split("=")[1]!;
      for (const path of ["/api/users/current", "/api/histories", `/api/histories/${victimHistory.id}/contents`]) {
        assert.equal((await api(sys.url, path, { key: victim.apiKey })).status, 200);
        assert.equal((await api(sys.url, `${path}${path.includes("?") ? "&" : "?"}key=${victim.apiKey}`)).status, 200);
        assert.equal((await api(sys.url, path, { cookie: victim.cookie })).status, 200);
      }
      await new Promise((r) => setTimeout(r, 500));
      assert.ok(!seen.some((m) => m.subject === "!error"), `monitor's subscription to > failed: ${seen.find((m) => m.subject === "!error")?.text}`);
      const resolves = seen.filter((m) => m.subject.startsWith(`${ns()}.rpc.authz.actor.resolve.`) || m.subject === AuthzResolveActor.subject(ns()));
      assert.ok(resolves.length >= 6, `monitor saw ${resolves.length} actor resolutions of 9 requests: it does not see the traffic`);
      const leaks = seen.filter((m) => m.text.includes(victim.apiKey) || m.text.includes(session));
      assert.deepEqual(leaks.map((m) => `${m.subject}: ${m.text.slice(0, 200)}`), [], "an API key or session id crossed the bus in clear");
    } finally {
      sub.unsubscribe();
    }
  });

  test("transfer reads no new session id or API key through a JetStream stream of its own making", async () => {
    const transfer = conn("transfer").nc!;
    const name = `SNIFF_${randomBytes(4).toString("hex").toUpperCase()}`;
    const r = await captureAsTransfer(transfer, conn("operator").nc!, name, "create", TransferJobWork.pattern(ns()));
    try {
      if (!r.captures) return assert.notEqual(r.outcome.kind, "answered");
      const fresh = await signIn(sys); // login.complete answers the session id, api-key.create the key: both to the gateway's inbox
      const batch = await (await transfer.jetstream().consumers.get(name, "transfer-workers")).fetch({ max_messages: 10_000, expires: 3000 });
      const read: string[] = [];
      for await (const m of batch) read.push(`${m.subject}: ${new TextDecoder().decode(m.data)}`);
      const session = fresh.cookie.split("=")[1]!;
      const leaked = read.filter((x) => x.includes(session) || x.includes(fresh.apiKey)).map((x) => {
        const shown = x.replace(session, "<SESSION ID>").replace(fresh.apiKey, "<API KEY>");
        const at = Math.max(shown.indexOf("<SESSION ID>"), shown.indexOf("<API KEY>"));
        return `${shown.slice(0, shown.indexOf(":"))}: …${shown.slice(Math.max(0, at - 60), at + 20)}…`;
      });
      assert.deepEqual(leaked, [], `${describeOutcome(r.outcome)}; transfer read a new user's session id or API key in ${read.length} captured replies`);
    } finally {
      await r.cleanup();
    }
  });

  test("bad actor assertions (missing, malformed, forged, unsigned, expired, other deployment, other user, other issuer) get a coded 401/403 and nothing is done", async () => {
    const real = gatewayKey(env);
    const bad = badAssertions(real, forgerKey(), { victim: victim.userId, other: thief.userId, aud: aud() });
    const gateway = conn("gateway");
    const failures: string[] = [];
    for (const [what, token, status, code] of bad) {
      const actor = { user_id: victim.userId, ...(token === undefined ? {} : { assertion: token }) };
      const calls = [
        [HistoryList, { actor }], [HistoryCreate, { actor, name: `planted-${what}` }], [AuthzApiKeyCreate, { actor }],
        [TransferSendPaged, { actor, history_id: victimHistory.id, authz_id: victimAuthz, bucket: thiefBucket, idempotency_key: randomBytes(6).toString("hex") }],
      ] as const;
      for (const [contract, data] of calls) {
        const o = await rpc(gateway, contract.subject(ns()), envelope(contract.requestType, data));
        const ok = o.kind === "error-reply" && o.status === status && code.test(o.code) && (!token || !o.message.includes(token));
        if (!ok) failures.push(`${what} on ${contract.name}: expected ${status} ${code.source}, got ${describeOutcome(o)}`);
      }
    }
    // The same request with the gateway's own valid assertion is served: the refusals above are the assertion's.
    const valid = await rpc(gateway, HistoryList.subject(ns()), envelope(HistoryList.requestType, { actor: { user_id: victim.userId, assertion: assertion(real, { sub: victim.userId, aud: aud() }) } }));
    assert.deepEqual(failures, []);
    assert.equal(valid.kind, "answered", `a valid assertion was refused: ${describeOutcome(valid)}`);
    assert.ok(valid.kind === "answered" && valid.text.includes(victimHistory.id));
    const histories = await api<Array<{ name: string }>>(sys.url, "/api/histories", { key: victim.apiKey });
    assert.deepEqual(histories.body.map((h) => h.name), [victimHistory.name], "a refused create made a history");
    assert.equal(await keyCreated(victim), keyBefore, "a refused api-key.create replaced the key");
    assert.deepEqual(await victimJobs(), { http: 0, mongo: 0 }, "a refused send queued a job");
    const logs = sys.logs.text();
    for (const [what, token] of bad) if (token && token.length > 20) assert.ok(!logs.includes(token.split(".")[2] || token), `the ${what} token is in the logs`);
    assert.match(logs, /BUS_ACTOR_/, "no log line tells of a refused assertion");
  });
});
