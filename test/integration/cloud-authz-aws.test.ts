import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { CreateBucketCommand, DeleteBucketCommand, DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { type Bus, createBus } from "@skyferry/bus";
import { AuthzIssueCredentials } from "@skyferry/contracts";
import { createLogger } from "@skyferry/logger";
import { createS3Store } from "@skyferry/storage-s3";
import { type MockOidc, oidcEnv, signIn, startOidcProvider } from "../support/auth.ts";
import { createWebIdentityRole, type WebIdentityRole } from "../support/rgw-sts.ts";
import { stackEnv, testBusOptions } from "../support/stack-env.ts";
import { startSystem, type System } from "../support/system.ts";
import { signedActor } from "@skyferry/actor/testing";

// An `aws` cloud authorization end to end: the signed-in identity's ID token exchanged at a real
// STS that verifies it (Ceph radosgw with the test's OpenID Connect provider registered), then the
// temporary credentials used against radosgw's S3.
describe("aws cloud authorization through radosgw's STS", () => {
  const stack = stackEnv();
  let oidc: MockOidc;
  let sys: System;
  let role: WebIdentityRole;
  let bus: Bus;
  const bucket = `sf-aws-${randomBytes(4).toString("hex")}`;
  const s3Admin = new S3Client({
    endpoint: stack.s3.endpoint,
    region: stack.s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: stack.s3.accessKeyId, secretAccessKey: stack.s3.secretAccessKey },
  });

  before(async () => {
    oidc = await startOidcProvider();
    role = await createWebIdentityRole(oidc);
    const aws = { SKYFERRY_AWS_STS_ENDPOINT: role.endpoint, SKYFERRY_AWS_S3_ENDPOINT: stack.s3.endpoint };
    sys = await startSystem({ label: "cloudauthz-aws", services: ["authz", "gateway"], env: { authz: { ...oidcEnv(oidc), ...aws } } });
    bus = await createBus({ ...testBusOptions(), namespace: sys.namespace, service: "probe", logger: createLogger({ name: "probe", level: "silent" }) });
    await s3Admin.send(new CreateBucketCommand({ Bucket: bucket }));
  });
  after(async () => {
    await s3Admin.send(new DeleteObjectCommand({ Bucket: bucket, Key: "aws.txt" })).catch(() => undefined);
    await s3Admin.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => undefined);
    s3Admin.destroy();
    await bus?.drain();
    await sys?.close();
    await role?.close();
    await oidc?.close();
  });

  test("/test obtains role credentials and reaches the bucket; vended credentials write and read with their expiry", async () => {
    const user = await signIn(sys, { email: "aws@example.org" });
    const headers = { "x-api-key": user.apiKey, "content-type": "application/json" };
    const created = await fetch(`${sys.url}/api/cloud/authz`, {
      method: "POST",
      headers,
      body: JSON.stringify({ provider: "aws", authn_id: user.authnId, config: { role_arn: role.roleArn, token_ttl: 900, region: role.region } }),
    });
    assert.equal(created.status, 200, await created.clone().text());
    const authz = (await created.json()) as { id: string; authn_id: string };
    assert.equal(authz.authn_id, user.authnId);

    const started = Date.now();
    const res = await fetch(`${sys.url}/api/cloud/authz/${authz.id}/test`, { method: "POST", headers, body: JSON.stringify({ bucket }) });
    const result = (await res.json()) as { ok: boolean; checked: string; expires_at: string; reason?: string };
    assert.equal(result.ok, true, JSON.stringify(result));
    assert.equal(result.checked, "bucket");
    const ttl = (Date.parse(result.expires_at) - started) / 1000;
    assert.ok(ttl > 800 && ttl < 1000, `expires_at follows token_ttl 900 (${ttl.toFixed(0)} s)`);

    const issued = await bus.request(AuthzIssueCredentials, { actor: await signedActor(user.userId, sys.namespace), authz_id: authz.id });
    assert.equal(issued.provider, "aws");
    assert.ok(issued.expires_at !== null);
    const c = issued.credentials;
    assert.equal(c.kind, "s3");
    if (c.kind !== "s3") return;
    assert.ok(c.session_token, "temporary credentials carry a session token");
    assert.equal(c.endpoint, stack.s3.endpoint);
    const client = new S3Client({
      endpoint: c.endpoint,
      region: c.region,
      forcePathStyle: c.force_path_style,
      credentials: { accessKeyId: c.access_key_id, secretAccessKey: c.secret_access_key, sessionToken: c.session_token },
    });
    try {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: "aws.txt", Body: "web identity" }));
      const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: "aws.txt" }));
      assert.equal(await got.Body?.transformToString(), "web identity");
      // The adapter's one-PUT path signs outside the SDK's middleware: the session token must be
      // signed there too (radosgw refuses the PUT otherwise).
      const store = createS3Store({
        region: c.region,
        forcePathStyle: c.force_path_style,
        ...(c.endpoint ? { endpoint: c.endpoint } : {}),
        credentials: { accessKeyId: c.access_key_id, secretAccessKey: c.secret_access_key, sessionToken: c.session_token },
      });
      try {
        const data = Buffer.from("web identity, one direct PUT");
        const sha256 = createHash("sha256").update(data).digest("hex");
        const put = await store.put({ bucket, key: "aws-direct.txt", body: Readable.from([data]), size: data.length, sha256, md5: createHash("md5").update(data).digest("hex"), ifNoneMatch: true });
        assert.equal(put.sha256, sha256);
        const back = await client.send(new GetObjectCommand({ Bucket: bucket, Key: "aws-direct.txt" }));
        assert.equal(await back.Body?.transformToString(), data.toString());
        assert.equal(back.Metadata?.sha256, sha256);
      } finally {
        await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: "aws-direct.txt" })).catch(() => undefined);
        await store.close();
      }
    } finally {
      client.destroy();
    }
    const logs = sys.logs.text();
    for (const secret of [c.secret_access_key, c.session_token]) assert.ok(!logs.includes(secret), "no temporary secret in the logs");

    // Within half their life the same credentials are handed out again (one STS call, not one per job) ...
    const again = await bus.request(AuthzIssueCredentials, { actor: await signedActor(user.userId, sys.namespace), authz_id: authz.id });
    assert.equal(again.credentials.kind === "s3" && again.credentials.access_key_id, c.access_key_id);
    assert.equal(again.expires_at, issued.expires_at);
    // ... until the authorization changes.
    const put = await fetch(`${sys.url}/api/cloud/authz/${authz.id}`, { method: "PUT", headers, body: JSON.stringify({ description: "changed" }) });
    assert.equal(put.status, 200);
    const fresh = await bus.request(AuthzIssueCredentials, { actor: await signedActor(user.userId, sys.namespace), authz_id: authz.id });
    assert.ok(fresh.credentials.kind === "s3" && fresh.credentials.access_key_id !== c.access_key_id, "new credentials after an update");
  });

  test("a role that does not trust the identity is refused with STS's reason", async () => {
    const user = await signIn(sys, { email: "aws-other@example.org" });
    const headers = { "x-api-key": user.apiKey, "content-type": "application/json" };
    const wrongRole = role.roleArn.replace(/role\/.*/, `role/skyferry-missing-${randomBytes(3).toString("hex")}`);
    const created = (await (
      await fetch(`${sys.url}/api/cloud/authz`, { method: "POST", headers, body: JSON.stringify({ provider: "aws", authn_id: user.authnId, config: { role_arn: wrongRole } }) })
    ).json()) as { id: string };
    const res = (await (await fetch(`${sys.url}/api/cloud/authz/${created.id}/test`, { method: "POST", headers, body: "{}" })).json()) as Record<string, unknown>;
    assert.equal(res.ok, false);
    assert.equal(res.code, "credentials_refused");
    assert.match(String(res.provider_code), /^[A-Za-z]+$/, "STS's own code");
  });
});
