import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { type SendWorld, stackAuthzConfig, startSendWorld } from "../support/send-system.ts";
import { api, createAzureContainer, createS3Bucket, independentAzure, independentS3 } from "../support/send.ts";

// Galaxy's send and get on the real services against radosgw (s3, aws through its STS) and
// Azurite: get answers Galaxy's array in request order (a missing object an `error` item), and a
// send checks the bucket and the credentials before anything is queued.

type Err = { err_msg: string; err_code: number };
type GetItem = { id: string | null; job_id: string | null; object: string; state: string; misc_info?: string; name: string };

describe("Galaxy's send and get: the get answer, and a send that checks before queuing", () => {
  let w: SendWorld;
  before(async () => {
    w = await startSendWorld({ label: "galaxy-cloud", aws: true });
  });
  after(async () => {
    await w?.close();
  });

  const jobsOf = async (key: string, historyId: string) => (await api<unknown[]>(w.sys.url, `/api/jobs?history_id=${historyId}`, { key })).body;

  test("get answers a JSON array of the new items in request order; a missing object is an error item with the reason", async () => {
    const u = await w.user();
    const authzId = await w.authz(u, "s3");
    const h = await w.history(u);
    const bucket = `gget-${randomBytes(4).toString("hex")}`;
    const s3 = independentS3();
    await createS3Bucket(s3, bucket);
    for (const key of ["b.txt", "a.txt"]) await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: `${key}\n` }));
    const r = await api<GetItem[]>(w.sys.url, "/api/cloud/storage/get", { key: u.apiKey, method: "POST", body: { history_id: h.id, authz_id: authzId, bucket, objects: ["b.txt", "missing.txt", "a.txt"] } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.ok(Array.isArray(r.body));
    assert.deepEqual(r.body.map((i) => [i.object, i.state]), [["b.txt", "queued"], ["missing.txt", "error"], ["a.txt", "queued"]]);
    assert.match(r.body[1]!.misc_info!, /does not exist/);
    assert.ok(r.body[0]!.job_id && r.body[2]!.job_id, "each queued item has its job");
    const notList = await api<Err>(w.sys.url, "/api/cloud/storage/get", { key: u.apiKey, method: "POST", body: { history_id: h.id, authz_id: authzId, bucket, objects: "a.txt" } });
    assert.deepEqual([notList.status, notList.body.err_code, notList.body.err_msg], [400, 400008, "The `objects` should be a list."]);
  });

  test("send: dataset_ids must be a list of well-formed ids (400009 / 400), nothing queued", async () => {
    const u = await w.user();
    const authzId = await w.authz(u, "s3");
    const h = await w.history(u);
    await h.add({ name: "x.txt", content: Buffer.from("x") });
    for (const [ids, code] of [[["zz"], 400009], ["abc", 400008], [[1], 400009]] as const) {
      const r = await api<Err>(w.sys.url, "/api/cloud/storage/send", { key: u.apiKey, method: "POST", body: { history_id: h.id, authz_id: authzId, bucket: "any-bucket", dataset_ids: ids } });
      assert.deepEqual([r.status, r.body.err_code], [400, code], JSON.stringify(ids));
    }
    assert.deepEqual(await jobsOf(u.apiKey, h.id), []);
  });

  const refusals: Array<{ provider: "s3" | "azure" | "aws"; what: string; config?: () => Record<string, unknown>; bucket: () => Promise<string>; status: number; reason: RegExp }> = [
    { provider: "s3", what: "a bucket that does not exist", bucket: async () => `absent-${randomBytes(4).toString("hex")}`, status: 404, reason: /does not exist/ },
    {
      provider: "s3", what: "a wrong secret",
      config: () => ({ ...stackAuthzConfig("s3"), secret_access_key: "wrong-secret-0123456789" }),
      bucket: async () => { const b = `wrong-${randomBytes(4).toString("hex")}`; await createS3Bucket(independentS3(), b); return b; },
      status: 403, reason: /SignatureDoesNotMatch|denied|403/i,
    },
    { provider: "azure", what: "a container that does not exist", bucket: async () => `absent-${randomBytes(4).toString("hex")}`, status: 404, reason: /does not exist/ },
    {
      provider: "azure", what: "a wrong account key",
      config: () => ({ ...stackAuthzConfig("azure"), account_key: Buffer.from("wrong key wrong key wrong key 32").toString("base64") }),
      bucket: async () => { const c = `wrong-${randomBytes(4).toString("hex")}`; await createAzureContainer(independentAzure(), c); return c; },
      status: 403, reason: /AuthorizationFailure|AuthenticationFailed|denied|403/i,
    },
    { provider: "aws", what: "a bucket that does not exist", bucket: async () => `absent-${randomBytes(4).toString("hex")}`, status: 404, reason: /does not exist/ },
  ];
  for (const c of refusals) {
    test(`send (${c.provider}) to ${c.what}: ${c.status} with the provider's reason, no job created`, async () => {
      const u = await w.user();
      const h = await w.history(u);
      await h.add({ name: "r.txt", content: Buffer.from("r") });
      // Defining an authorization does not call the provider: a wrong secret is accepted here.
      const authzId = await w.authz(u, c.provider, c.config?.());
      const bucket = await c.bucket();
      const r = await api<Err>(w.sys.url, "/api/cloud/storage/send", { key: u.apiKey, method: "POST", body: { history_id: h.id, authz_id: authzId, bucket } });
      assert.equal(r.status, c.status, JSON.stringify(r.body));
      assert.match(r.body.err_msg, c.reason);
      assert.deepEqual(await jobsOf(u.apiKey, h.id), [], "nothing queued");
    });
  }
});
