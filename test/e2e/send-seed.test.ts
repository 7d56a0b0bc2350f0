import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { csrfToken, type MockOidc, oidcEnv, signIn, startOidcProvider } from "../support/auth.ts";
import { uploadMultipart } from "../support/history.ts";
import { createWebIdentityRole, type WebIdentityRole } from "../support/rgw-sts.ts";
import {
  api, createAzureContainer, createS3Bucket, independentAzure, independentS3, readAzure, readS3, removeS3Buckets, s3MultipartUploads, sha256, waitForJobs,
} from "../support/send.ts";
import { roleSession } from "../support/send-system.ts";
import { stackEnv } from "../support/stack-env.ts";
import { startSystem, type System } from "../support/system.ts";

// The seed (../shared/reference/send-data-to-cloud.md), step by step, on the real services: sign in
// with OpenID Connect, define a cloud authorization, create an API key, GET /api/histories,
// GET /api/cloud/authz, POST /api/cloud/storage/send?key=… with {history_id, authz_id, bucket};
// then every object is read back with an independent client and compared byte for byte.
// `aws` is the seed's own provider: a role assumed with the sign-in's ID token at radosgw's STS.

interface SendBody { sent_dataset_labels: string[]; failed_dataset_labels: string[]; bucket_name: string }

const files = [
  { name: "rep1.bed", body: Buffer.from("chr1\t100\t200\tpeak1\n".repeat(5000)) },
  // Larger than the single-PUT limit (16 MiB): a multipart upload.
  { name: "rep 2.bed", body: randomBytes(20 * 1024 * 1024 + 17) },
  { name: "empty.txt", body: Buffer.alloc(0) },
];

for (const provider of ["s3", "azure", "aws"] as const) {
  describe(`the seed's send, to ${provider}`, () => {
    const stack = stackEnv();
    const bucket = `seed-${provider}-${randomBytes(4).toString("hex")}`;
    let oidc: MockOidc;
    let role: WebIdentityRole | undefined;
    let sys: System;
    before(async () => {
      oidc = await startOidcProvider();
      const authzEnv: Record<string, string> = { ...oidcEnv(oidc) };
      if (provider === "aws") {
        role = await createWebIdentityRole(oidc);
        Object.assign(authzEnv, { SKYFERRY_AWS_STS_ENDPOINT: role.endpoint, SKYFERRY_AWS_S3_ENDPOINT: stack.s3.endpoint });
      }
      sys = await startSystem({ label: `seed-${provider}`, env: { authz: authzEnv } });
      if (provider === "azure") await createAzureContainer(independentAzure(), bucket);
      else await createS3Bucket(independentS3(), bucket);
    });
    after(async () => {
      if (provider === "azure") await independentAzure().getContainerClient(bucket).deleteIfExists().catch(() => undefined);
      else await removeS3Buckets(independentS3(), [bucket]).catch(() => undefined);
      await sys?.close();
      await role?.close();
      await oidc?.close();
    });

    test("sign in, define an authorization, create an API key, list, send; every object reads back byte-identical with its sha256", async () => {
      // 1. Sign in (the real authorization-code flow through the gateway).
      const user = await signIn(sys, { email: `seed-${provider}@example.org` });
      const csrf = await csrfToken(sys, user.cookie);
      const asBrowser = { cookie: user.cookie, "x-csrf-token": csrf, "content-type": "application/json" };
      // 2. Define a cloud authorization (as the console does: session cookie + CSRF token).
      const config =
        provider === "s3"
          ? { endpoint: stack.s3.endpoint, region: stack.s3.region, access_key_id: stack.s3.accessKeyId, secret_access_key: stack.s3.secretAccessKey, force_path_style: true }
          : provider === "azure"
            ? { storage_account: stack.azure.account, account_key: stack.azure.key, endpoint: stack.azure.endpoint }
            : { role_arn: role!.roleArn, region: role!.region };
      const created = await fetch(`${sys.url}/api/cloud/authz`, {
        method: "POST",
        headers: asBrowser,
        body: JSON.stringify({ provider, config, description: "seed", ...(provider === "aws" ? { authn_id: user.authnId } : {}) }),
      });
      assert.equal(created.status, 200, await created.clone().text());
      const authzCreated = (await created.json()) as { id: string };
      // 3. Create an API key ("User -> Manage API key -> Create a new key"); the previous one stops working.
      const keyRes = await fetch(`${sys.url}/api/users/current/api_key`, { method: "POST", headers: { cookie: user.cookie, "x-csrf-token": csrf } });
      assert.equal(keyRes.status, 200);
      const key = (await keyRes.json()) as string;
      assert.equal((await fetch(`${sys.url}/api/users/current?key=${user.apiKey}`)).status, 401, "the previous key is revoked");
      // The datasets to send: a history with three uploads.
      const history = await api<{ id: string }>(sys.url, "/api/histories", { key, method: "POST", body: { name: "Unnamed history" } });
      assert.equal(history.status, 200, JSON.stringify(history.body));
      const up = await uploadMultipart(sys.url, key, history.body.id, files.map((f) => ({ name: f.name, content: f.body })));
      assert.equal(up.status, 200, JSON.stringify(up.body));
      // 4.3 GET /api/histories, 4.4 GET /api/cloud/authz: note the ids.
      const histories = (await (await fetch(`${sys.url}/api/histories?key=${key}`)).json()) as Array<{ id: string; model_class: string; name: string }>;
      const h = histories.find((x) => x.id === history.body.id);
      assert.ok(h, "the history is listed");
      assert.equal(h.model_class, "History");
      const authzs = (await (await fetch(`${sys.url}/api/cloud/authz?key=${key}`)).json()) as Array<{ id: string; model_class: string; provider: string; config: Record<string, unknown> }>;
      const a = authzs.find((x) => x.id === authzCreated.id);
      assert.ok(a, "the authorization is listed");
      assert.equal(a.model_class, "CloudAuthz");
      assert.equal(a.provider, provider);
      for (const secret of [stack.s3.secretAccessKey, stack.azure.key]) assert.ok(!JSON.stringify(authzs).includes(secret), "no secret in the listing");
      // 4.5–4.6 POST /api/cloud/storage/send?key=… with the seed's body.
      const res = await fetch(`${sys.url}/api/cloud/storage/send?key=${key}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ history_id: h.id, authz_id: a.id, bucket }),
      });
      const text = await res.text();
      assert.equal(res.status, 200, text);
      const body = JSON.parse(text) as SendBody;
      assert.equal(body.bucket_name, bucket);
      assert.deepEqual(body.failed_dataset_labels, []);
      const labels = body.sent_dataset_labels.map((l) => {
        assert.match(l, /^\{"object": "[^"]+", "job_id": "[0-9a-f]{16}"\}$/, "a label is a JSON string with Python's separators");
        return JSON.parse(l) as { object: string; job_id: string };
      });
      assert.deepEqual(labels.map((l) => l.object), ["rep1.bed", "rep_2.bed", "empty.txt"], "hid order, spaces turned into _");
      // The reader: the stack's S3 user, or for aws a session of the same role assumed directly
      // at the STS (radosgw lets only the role's sessions read what they wrote).
      const reader = provider === "aws" ? await roleSession(oidc, role!) : independentS3();
      const jobs = await waitForJobs(sys.url, key, labels.map((l) => l.job_id), 180_000);
      for (const [i, job] of jobs.entries()) {
        const f = files[i]!;
        assert.equal(job.state, "ok", `${f.name}: ${JSON.stringify(job.error)}`);
        assert.equal(job.model_class, "Job");
        assert.equal(job.object_key, labels[i]!.object);
        assert.equal(job.bytes_done, f.body.length);
        assert.equal(job.checksum.sha256, sha256(f.body));
        const got = provider === "azure" ? await readAzure(independentAzure(), bucket, job.object_key) : await readS3(reader, bucket, job.object_key);
        assert.equal(got.body.length, f.body.length, `${f.name}: size`);
        assert.equal(sha256(got.body), sha256(f.body), `${f.name}: bytes`);
        assert.equal(got.metadata.sha256, sha256(f.body), `${f.name}: sha256 metadata`);
      }
      if (provider !== "azure") assert.deepEqual(await s3MultipartUploads(reader, bucket), [], "no multipart upload left behind");
    });
  });
}
