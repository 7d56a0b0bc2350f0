import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { CreateBucketCommand, DeleteBucketCommand, DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { BlobServiceClient, ContainerSASPermissions, generateBlobSASQueryParameters, StorageSharedKeyCredential } from "@azure/storage-blob";
import { type Bus, createBus } from "@skyferry/bus";
import { AuthzDescribe, AuthzIssueCredentials, type ProviderCredentials } from "@skyferry/contracts";
import { createLogger } from "@skyferry/logger";
import { type MockOidc, oidcEnv, type SignedIn, signIn, startOidcProvider } from "../support/auth.ts";
import { stackEnv, testBusOptions } from "../support/stack-env.ts";
import { startSystem, type System } from "../support/system.ts";
import { signedActor } from "@skyferry/actor/testing";

type Json = Record<string, unknown>;

describe("cloud authorizations (/api/cloud/authz) and credential vending", () => {
  const stack = stackEnv();
  let oidc: MockOidc;
  let sys: System;
  let bus: Bus;
  let a: SignedIn;
  let b: SignedIn;
  const s3Admin = new S3Client({
    endpoint: stack.s3.endpoint,
    region: stack.s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: stack.s3.accessKeyId, secretAccessKey: stack.s3.secretAccessKey },
  });
  const azureKey = new StorageSharedKeyCredential(stack.azure.account, stack.azure.key);
  const azureAdmin = new BlobServiceClient(stack.azure.endpoint, azureKey);
  const bucket = `sf-authz-${randomBytes(4).toString("hex")}`;
  const container = `sf-authz-${randomBytes(4).toString("hex")}`;
  /** Every response body seen, searched for secrets at the end. */
  const bodies: string[] = [];
  /** Every secret handed to the API, searched for in responses and logs at the end. */
  const secrets = new Set<string>([stack.s3.secretAccessKey, stack.azure.key]);

  before(async () => {
    oidc = await startOidcProvider();
    // STS: the stack's radosgw (never AWS itself from a test).
    const aws = { SKYFERRY_AWS_STS_ENDPOINT: stack.s3.endpoint, SKYFERRY_AWS_S3_ENDPOINT: stack.s3.endpoint };
    sys = await startSystem({ label: "cloudauthz", services: ["authz", "gateway"], env: { authz: { ...oidcEnv(oidc), ...aws } } });
    bus = await createBus({ ...testBusOptions(), namespace: sys.namespace, service: "probe", logger: createLogger({ name: "probe", level: "silent" }) });
    a = await signIn(sys, { email: "owner@example.org" });
    b = await signIn(sys, { email: "other@example.org" });
    await s3Admin.send(new CreateBucketCommand({ Bucket: bucket }));
    await azureAdmin.getContainerClient(container).create();
  });
  after(async () => {
    await bus?.drain();
    await sys?.close();
    await oidc?.close();
    await s3Admin.send(new DeleteObjectCommand({ Bucket: bucket, Key: "vended.txt" })).catch(() => undefined);
    await s3Admin.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => undefined);
    await azureAdmin.getContainerClient(container).deleteIfExists();
    s3Admin.destroy();
  });

  async function api(user: SignedIn, method: string, path: string, body?: unknown): Promise<{ status: number; json: Json & Json[] }> {
    const res = await fetch(`${sys.url}${path}`, {
      method,
      headers: { "x-api-key": user.apiKey, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    bodies.push(text);
    return { status: res.status, json: (text ? JSON.parse(text) : null) as Json & Json[] };
  }

  const s3Config = (secret = stack.s3.secretAccessKey) => ({
    endpoint: stack.s3.endpoint,
    access_key_id: stack.s3.accessKeyId,
    secret_access_key: secret,
    region: stack.s3.region,
    force_path_style: true,
  });

  async function create(user: SignedIn, body: Json): Promise<Json> {
    const res = await api(user, "POST", "/api/cloud/authz", body);
    assert.equal(res.status, 200, `create: ${JSON.stringify(res.json)}`);
    return res.json;
  }

  test("create, list, get, update and delete an s3 authorization; the secret is masked and kept", async () => {
    const created = await create(a, { provider: "s3", config: s3Config(), description: "radosgw" });
    assert.equal(created.model_class, "CloudAuthz");
    assert.match(String(created.id), /^[0-9a-f]{16}$/);
    assert.equal(created.user_id, a.userId);
    assert.equal(created.provider, "s3");
    assert.equal(created.authn_id, null);
    assert.equal(created.description, "radosgw");
    assert.equal(created.status, "untested");
    const config = created.config as Json;
    assert.equal(config.secret_access_key, `****${stack.s3.secretAccessKey.slice(-4)}`);
    assert.equal(config.access_key_id, stack.s3.accessKeyId);
    assert.equal(config.force_path_style, true);
    for (const f of ["create_time", "last_update", "last_activity"]) assert.ok(!Number.isNaN(Date.parse(String(created[f]))), f);

    const list = await api(a, "GET", "/api/cloud/authz");
    assert.equal(list.status, 200);
    assert.deepEqual(list.json.map((x) => x.id), [created.id]);
    assert.deepEqual((await api(b, "GET", "/api/cloud/authz")).json, [], "another user's list is empty");
    assert.deepEqual((await api(a, "GET", `/api/cloud/authz/${created.id}`)).json, created);

    await new Promise((r) => setTimeout(r, 5));
    // A client echoes the masked config it was shown: the stored secret stays.
    const put = await api(a, "PUT", `/api/cloud/authz/${created.id}`, { description: "renamed", config });
    assert.equal(put.status, 200, JSON.stringify(put.json));
    assert.equal(put.json.description, "renamed");
    assert.ok(Date.parse(String(put.json.last_update)) > Date.parse(String(created.last_update)), "last_update moves");
    assert.equal(put.json.create_time, created.create_time);
    const tested = await api(a, "POST", `/api/cloud/authz/${created.id}/test`, { bucket });
    assert.equal(tested.json.ok, true, `the kept secret still works: ${JSON.stringify(tested.json)}`);

    const del = await api(a, "DELETE", `/api/cloud/authz/${created.id}`);
    assert.equal(del.status, 200);
    assert.equal(del.json.id, created.id);
    const gone = await api(a, "GET", `/api/cloud/authz/${created.id}`);
    assert.equal(gone.status, 404);
    assert.equal(gone.json.err_code, 404001);
  });

  test("another user's authorization is 404 on get, put, delete and test; a malformed id is 400009", async () => {
    const mine = await create(a, { provider: "s3", config: { ...s3Config(), region: "owned-1" } });
    const path = `/api/cloud/authz/${mine.id}`;
    for (const [method, p, body] of [["GET", path], ["PUT", path, { description: "x" }], ["DELETE", path], ["POST", `${path}/test`, {}]] as const) {
      const res = await api(b, method, p, body);
      assert.equal(res.status, 404, `${method} ${p}`);
      assert.equal(res.json.err_code, 404001);
      const bad = await api(a, method, p.replace(String(mine.id), "not-an-id"), body);
      assert.equal(bad.status, 400, `${method} malformed`);
      assert.equal(bad.json.err_code, 400009);
    }
    assert.equal((await api(a, "GET", path)).status, 200, "still there for its owner");
    const vend = await bus.request(AuthzIssueCredentials, { actor: await signedActor(b.userId, sys.namespace), authz_id: String(mine.id) }).then(
      () => 200,
      (e: { status?: number }) => e.status,
    );
    assert.equal(vend, 404, "credential vending refuses another user's authorization");
  });

  test("an exact duplicate is refused with 400; a different secret is not a duplicate", async () => {
    const config = { ...s3Config(), region: "dup-1" };
    await create(a, { provider: "s3", config, description: "first" });
    const dup = await api(a, "POST", "/api/cloud/authz", { provider: "s3", config, description: "second" });
    assert.equal(dup.status, 400);
    assert.equal(dup.json.err_code, 400008);
    assert.match(String(dup.json.err_msg), /similar cloud authorization/);
    const other = `${stack.s3.secretAccessKey}x`;
    secrets.add(other);
    await create(a, { provider: "s3", config: { ...config, secret_access_key: other } });
    // The same config under another user is theirs, not a duplicate.
    await create(b, { provider: "s3", config });
  });

  test("bad input gets Galaxy's codes naming the field", async () => {
    const cases: Array<[Json, number, number, string]> = [
      [{ config: s3Config() }, 400, 400007, "provider"],
      [{ provider: "s3" }, 400, 400007, "config"],
      [{ provider: "gcp-x", config: {} }, 400, 400008, "provider"],
      [{ provider: "s3", config: { ...s3Config(), endpoint: undefined } }, 400, 400007, "config.endpoint"],
      [{ provider: "s3", config: { ...s3Config(), endpoint: "ftp://x" } }, 400, 400008, "config.endpoint"],
      [{ provider: "s3", config: { ...s3Config(), color: "blue" } }, 400, 400008, "config.color"],
      [{ provider: "s3", config: s3Config(), authn_id: "zz" }, 400, 400009, "authn_id"],
      [{ provider: "aws", config: { role_arn: "arn:aws:iam::123456789012:role/r" } }, 400, 400007, "authn_id"],
      [{ provider: "aws", authn_id: "AUTHN", config: { role_arn: "not-an-arn" } }, 400, 400008, "config.role_arn"],
      [{ provider: "aws", authn_id: "AUTHN", config: { role_arn: "arn:aws:iam::12345:role/r" } }, 400, 400008, "config.role_arn"],
      [{ provider: "aws", authn_id: "AUTHN", config: { role_arn: "arn:aws:iam::123456789012:role/r", token_ttl: 899 } }, 400, 400008, "config.token_ttl"],
      [{ provider: "aws", authn_id: "AUTHN", config: { role_arn: "arn:aws:iam::123456789012:role/r", token_ttl: 43201 } }, 400, 400008, "config.token_ttl"],
      [{ provider: "aws", authn_id: "AUTHN", config: {} }, 400, 400007, "config.role_arn"],
      [{ provider: "aws", authn_id: "OTHER", config: { role_arn: "arn:aws:iam::123456789012:role/r" } }, 404, 404001, ""],
      [{ provider: "azure", config: { storage_account: "skyferry" } }, 400, 400007, "config.client_secret"],
      [{ provider: "azure", config: { storage_account: "skyferry", account_key: stack.azure.key, sas: "sv=1&sig=abc" } }, 400, 400008, "config.sas"],
      [{ provider: "azure", config: { storage_account: "skyferry", tenant_id: "t", client_secret: "s" } }, 400, 400007, "config.client_id"],
      [{ provider: "azure", config: { storage_account: "Bad_Name", account_key: stack.azure.key } }, 400, 400008, "config.storage_account"],
    ];
    for (const [raw, status, code, field] of cases) {
      const body = JSON.parse(JSON.stringify(raw).replace('"AUTHN"', JSON.stringify(a.authnId)).replace('"OTHER"', JSON.stringify(b.authnId))) as Json;
      const res = await api(a, "POST", "/api/cloud/authz", body);
      assert.equal(res.status, status, `${JSON.stringify(body)} -> ${JSON.stringify(res.json)}`);
      assert.equal(res.json.err_code, code, JSON.stringify(res.json));
      if (field) assert.equal(res.json.field, field, JSON.stringify(res.json));
      if (field.startsWith("config.")) assert.ok(String(res.json.err_msg).includes(field), `the message names ${field}: ${String(res.json.err_msg)}`);
    }
    const ok = await create(a, { provider: "aws", authn_id: a.authnId, config: { role_arn: "arn:aws:iam:::role/ceph-style" } });
    assert.deepEqual(ok.config, { role_arn: "arn:aws:iam:::role/ceph-style", token_ttl: 3600, region: "us-east-1" }, "defaults are filled in");
    const badPut = await api(a, "PUT", `/api/cloud/authz/${ok.id}`, { config: { role_arn: "arn:aws:iam::123456789012:role/r", token_ttl: 10 } });
    assert.equal(badPut.status, 400);
    assert.equal(badPut.json.field, "config.token_ttl");
  });

  test("s3 /test: ok against radosgw with and without a bucket; a wrong secret is refused in the fixed vocabulary with the provider's status and code", async () => {
    const good = await create(a, { provider: "s3", config: { ...s3Config(), region: "test-1" } });
    const withBucket = await api(a, "POST", `/api/cloud/authz/${good.id}/test`, { bucket });
    assert.equal(withBucket.status, 200);
    assert.deepEqual(withBucket.json, { ok: true, provider: "s3", checked: "bucket", bucket, expires_at: null });
    assert.equal((await api(a, "GET", `/api/cloud/authz/${good.id}`)).json.status, "ok", "a successful test marks the record ok");
    const noBucket = await api(a, "POST", `/api/cloud/authz/${good.id}/test`);
    assert.equal(noBucket.json.ok, true);
    assert.equal(noBucket.json.checked, "account");
    const missing = await api(a, "POST", `/api/cloud/authz/${good.id}/test`, { bucket: `${bucket}-missing` });
    assert.equal(missing.json.ok, false);
    assert.deepEqual([missing.json.code, missing.json.provider_code, missing.json.provider_status], ["no_such_bucket", "NoSuchBucket", 404]);

    const wrongSecret = randomBytes(30).toString("base64");
    secrets.add(wrongSecret);
    const bad = await create(a, { provider: "s3", config: s3Config(wrongSecret) });
    const refused = await api(a, "POST", `/api/cloud/authz/${bad.id}/test`, { bucket });
    assert.equal(refused.status, 200);
    assert.equal(refused.json.ok, false);
    // AWS says SignatureDoesNotMatch; radosgw says AccessDenied.
    assert.ok(["SignatureDoesNotMatch", "AccessDenied"].includes(String(refused.json.provider_code)), JSON.stringify(refused.json));
    assert.ok(["invalid_credentials", "access_denied"].includes(String(refused.json.code)), JSON.stringify(refused.json));
    assert.equal(refused.json.provider_status, 403);
    assert.match(String(refused.json.reason), /^The storage service (denied access|did not accept the credentials)/, "our words, not the provider's body");
    const account = await api(a, "POST", `/api/cloud/authz/${bad.id}/test`);
    assert.equal(account.json.ok, false);
    assert.equal(account.json.checked, "account");
    const after = await api(a, "GET", `/api/cloud/authz/${bad.id}`);
    assert.equal(after.json.status, "refused", "a refusal of the keys at account level marks the record");
    assert.equal(after.json.status_reason, account.json.reason);
  });

  test("credential vending: s3 credentials that work, last_activity moves, and AuthzDescribe", async () => {
    const authz = await create(a, { provider: "s3", config: { ...s3Config(), region: "vend-1" }, description: "vend" });
    await new Promise((r) => setTimeout(r, 5));
    const issued = await bus.request(AuthzIssueCredentials, { actor: await signedActor(a.userId, sys.namespace), authz_id: String(authz.id) });
    assert.equal(issued.provider, "s3");
    assert.equal(issued.expires_at, null);
    const c = issued.credentials as Extract<ProviderCredentials, { kind: "s3" }>;
    const client = new S3Client({ endpoint: c.endpoint, region: c.region, forcePathStyle: c.force_path_style, credentials: { accessKeyId: c.access_key_id, secretAccessKey: c.secret_access_key } });
    try {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: "vended.txt", Body: "hello" }));
      const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: "vended.txt" }));
      assert.equal(await got.Body?.transformToString(), "hello");
    } finally {
      client.destroy();
    }
    const seen = await api(a, "GET", `/api/cloud/authz/${authz.id}`);
    assert.ok(Date.parse(String(seen.json.last_activity)) > Date.parse(String(authz.last_activity)), "issuing bumps last_activity");
    assert.equal(seen.json.status, "untested", "handing out static keys proves nothing about them");
    assert.deepEqual(await bus.request(AuthzDescribe, { actor: await signedActor(a.userId, sys.namespace), authz_id: String(authz.id) }), {
      id: authz.id,
      user_id: a.userId,
      provider: "s3",
      description: "vend",
    });
  });

  test("azure with the account key: /test ok on a container, vended credentials work; a wrong key is refused", async () => {
    const authz = await create(a, { provider: "azure", config: { storage_account: stack.azure.account, endpoint: stack.azure.endpoint, account_key: stack.azure.key } });
    assert.equal((authz.config as Json).account_key, `****${stack.azure.key.slice(-4)}`);
    const ok = await api(a, "POST", `/api/cloud/authz/${authz.id}/test`, { bucket: container });
    assert.deepEqual(ok.json, { ok: true, provider: "azure", checked: "bucket", bucket: container, expires_at: null });
    const account = await api(a, "POST", `/api/cloud/authz/${authz.id}/test`, {});
    assert.equal(account.json.ok, true);
    assert.equal(account.json.checked, "account");

    const issued = await bus.request(AuthzIssueCredentials, { actor: await signedActor(a.userId, sys.namespace), authz_id: String(authz.id) });
    const c = issued.credentials as Extract<ProviderCredentials, { kind: "azure" }>;
    assert.equal(c.auth.type, "shared_key");
    const svc = new BlobServiceClient(c.account_url, new StorageSharedKeyCredential(c.account, c.auth.type === "shared_key" ? c.auth.account_key : ""));
    await svc.getContainerClient(container).getBlockBlobClient("vended-key.txt").upload("hi", 2);
    assert.equal((await azureAdmin.getContainerClient(container).getBlobClient("vended-key.txt").getProperties()).contentLength, 2);

    const wrongKey = randomBytes(64).toString("base64");
    secrets.add(wrongKey);
    const bad = await create(a, { provider: "azure", config: { storage_account: stack.azure.account, endpoint: stack.azure.endpoint, account_key: wrongKey } });
    const refused = await api(a, "POST", `/api/cloud/authz/${bad.id}/test`, { bucket: container });
    assert.equal(refused.json.ok, false);
    assert.equal(refused.json.checked, "bucket");
    // Azure says AuthenticationFailed; Azurite says AuthorizationFailure.
    assert.ok(["invalid_credentials", "access_denied"].includes(String(refused.json.code)), JSON.stringify(refused.json));
    assert.ok(["AuthenticationFailed", "AuthorizationFailure"].includes(String(refused.json.provider_code)), JSON.stringify(refused.json));
    assert.equal(refused.json.provider_status, 403);
    assert.match(String(refused.json.reason), /^The storage service (denied access|did not accept the credentials)/);
  });

  test("azure with a SAS: /test ok, expires_at from the SAS, vended SAS works; an expired SAS is refused", async () => {
    const expiresOn = new Date(Date.now() + 3600_000);
    const sas = generateBlobSASQueryParameters(
      { containerName: container, permissions: ContainerSASPermissions.parse("racwl"), expiresOn, startsOn: new Date(Date.now() - 60_000) },
      azureKey,
    ).toString();
    secrets.add(sas);
    const authz = await create(a, { provider: "azure", config: { storage_account: stack.azure.account, endpoint: stack.azure.endpoint, sas } });
    assert.match(String((authz.config as Json).sas), /^\*{4}.{4}$/);
    const ok = await api(a, "POST", `/api/cloud/authz/${authz.id}/test`, { bucket: container });
    assert.equal(ok.json.ok, true, JSON.stringify(ok.json));
    assert.equal(Math.floor(Date.parse(String(ok.json.expires_at)) / 1000), Math.floor(expiresOn.getTime() / 1000));
    const other = await api(a, "POST", `/api/cloud/authz/${authz.id}/test`, { bucket: `${container}-other` });
    assert.equal(other.json.ok, false, "a container SAS does not reach another container");

    const issued = await bus.request(AuthzIssueCredentials, { actor: await signedActor(a.userId, sys.namespace), authz_id: String(authz.id) });
    const c = issued.credentials as Extract<ProviderCredentials, { kind: "azure" }>;
    assert.equal(c.auth.type, "sas");
    const svc = new BlobServiceClient(`${c.account_url}?${c.auth.type === "sas" ? c.auth.sas : ""}`);
    await svc.getContainerClient(container).getBlockBlobClient("vended-sas.txt").upload("sas", 3);
    assert.equal((await azureAdmin.getContainerClient(container).getBlobClient("vended-sas.txt").getProperties()).contentLength, 3);

    const expired = generateBlobSASQueryParameters(
      { containerName: container, permissions: ContainerSASPermissions.parse("rl"), expiresOn: new Date(Date.now() - 60_000), startsOn: new Date(Date.now() - 120_000) },
      azureKey,
    ).toString();
    secrets.add(expired);
    const old = await create(a, { provider: "azure", config: { storage_account: stack.azure.account, endpoint: stack.azure.endpoint, sas: expired } });
    const refused = await api(a, "POST", `/api/cloud/authz/${old.id}/test`, { bucket: container });
    assert.equal(refused.json.ok, false);
    assert.equal(refused.json.code, "expired");
  });

  test("aws: an identity whose sign-in cannot be renewed marks the authorization needs_reauth", async () => {
    // The ID token expires within the renewal margin, so using it needs a refresh, which the provider refuses.
    oidc.onNextIdToken((p) => {
      p.exp = Math.floor(Date.now() / 1000) + 30;
    });
    const user = await signIn(sys, { email: "expiring@example.org" });
    for (let i = 0; i < 2; i++) {
      oidc.onNextTokenResponse((res) => {
        res.statusCode = 400;
        res.body = { error: "invalid_grant", error_description: "refresh token revoked" };
      });
    }
    const authz = await create(user, { provider: "aws", authn_id: user.authnId, config: { role_arn: "arn:aws:iam::123456789012:role/skyferry" } });
    const res = await api(user, "POST", `/api/cloud/authz/${authz.id}/test`, { bucket });
    assert.equal(res.status, 200);
    assert.equal(res.json.ok, false);
    assert.equal(res.json.code, "needs_reauth");
    assert.match(String(res.json.reason), /sign in again/);
    const seen = await api(user, "GET", `/api/cloud/authz/${authz.id}`);
    assert.equal(seen.json.status, "needs_reauth");
    const vend = await bus.request(AuthzIssueCredentials, { actor: await signedActor(user.userId, sys.namespace), authz_id: String(authz.id) }).then(
      () => ({ status: 200, code: "" }),
      (e: { status: number; code: string }) => ({ status: e.status, code: e.code }),
    );
    assert.deepEqual(vend, { status: 401, code: "AUTHZ_NEEDS_REAUTH" });
  });

  test("aws: STS refusing the web identity is reported with its reason (radosgw does not trust this test's provider)", async () => {
    const authz = await create(a, { provider: "aws", authn_id: a.authnId, config: { role_arn: "arn:aws:iam:::role/not-trusted", token_ttl: 900 } });
    const res = await api(a, "POST", `/api/cloud/authz/${authz.id}/test`, {});
    assert.equal(res.status, 200);
    assert.equal(res.json.ok, false, JSON.stringify(res.json));
    assert.equal(res.json.code, "credentials_refused");
    assert.match(String(res.json.provider_code), /^[A-Za-z]+$/, "STS's own code");
    assert.equal(res.json.reason, "The identity service refused to issue credentials.");
    const seen = await api(a, "GET", `/api/cloud/authz/${authz.id}`);
    assert.equal(seen.json.status, "refused");
  });

  test("the routes are in the OpenAPI document with their methods", async () => {
    const doc = (await (await fetch(`${sys.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    assert.deepEqual(Object.keys(doc.paths["/api/cloud/authz"] ?? {}).sort(), ["get", "post"]);
    assert.deepEqual(Object.keys(doc.paths["/api/cloud/authz/{id}"] ?? {}).sort(), ["delete", "get", "put"]);
    assert.deepEqual(Object.keys(doc.paths["/api/cloud/authz/{id}/test"] ?? {}), ["post"]);
  });

  test("no secret appears in any response or any log line", () => {
    assert.ok(bodies.length > 20 && sys.logs.lines.length > 0, "responses and logs were captured");
    const logs = sys.logs.text();
    for (const s of secrets) {
      assert.ok(!bodies.some((b) => b.includes(s)), `a secret ending in ${s.slice(-4)} is in a response`);
      assert.ok(!logs.includes(s), `a secret ending in ${s.slice(-4)} is in the logs`);
    }
  });
});
