import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { CreateBucketCommand, DeleteBucketCommand, DeleteObjectCommand, GetObjectCommand, ListBucketsCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { assumeRoleWithWebIdentity } from "@skyferry/authz/aws-sts";
import { OAuth2Issuer } from "oauth2-mock-server";
import { generateX5cKey, type MockOidc, oidcEnv, signIn, startOidcProvider } from "../support/auth.ts";
import { createWebIdentityRole, type WebIdentityRole } from "../support/rgw-sts.ts";
import { stackEnv } from "../support/stack-env.ts";
import { startSystem, type System } from "../support/system.ts";

// AssumeRoleWithWebIdentity against a real STS that checks the token: Ceph radosgw, with the test's
// OpenID Connect provider registered through radosgw's IAM API. radosgw fetches the issuer's
// discovery document and JWKS and verifies signature, expiry and audience itself.
describe("AWS STS AssumeRoleWithWebIdentity with a signed-in identity's ID token (Ceph radosgw)", () => {
  let oidc: MockOidc;
  let sys: System;
  let role: WebIdentityRole;
  before(async () => {
    oidc = await startOidcProvider();
    sys = await startSystem({ label: "aws-sts", services: ["authz", "gateway"], env: { authz: oidcEnv(oidc) } });
    role = await createWebIdentityRole(oidc);
  });
  after(async () => {
    await role?.close();
    await sys?.close();
    await oidc?.close();
  });

  const assume = (webIdentityToken: string) =>
    assumeRoleWithWebIdentity({
      endpoint: role.endpoint,
      region: role.region,
      roleArn: role.roleArn,
      webIdentityToken,
      durationSeconds: 900,
      roleSessionName: `skyferry-test-${randomBytes(3).toString("hex")}`,
    });

  /** A token from the same issuer and key, for the registered client, changed by `patch`. */
  const mint = (patch: (payload: Record<string, unknown>) => void = () => {}, expiresIn = 600) =>
    oidc.server.issuer.buildToken({
      expiresIn,
      scopesOrTransform: (_header, payload) => {
        Object.assign(payload, { sub: "u-minted", aud: oidc.clientId });
        patch(payload);
      },
    });

  test("the ID token from sign-in buys temporary credentials that read and write the S3 store", async (t) => {
    let idToken = "";
    oidc.onNextTokenResponse((res) => {
      idToken = typeof res.body.id_token === "string" ? res.body.id_token : "";
    });
    await signIn(sys);
    assert.match(idToken, /^[\w-]+\.[\w-]+\.[\w-]+$/, "the sign-in's token response carried an ID token");

    const before = Date.now();
    const creds = await assume(idToken);
    assert.ok(creds.accessKeyId.length > 0 && creds.secretAccessKey.length > 0 && creds.sessionToken.length > 0);
    const ttl = creds.expiration.getTime() - before;
    assert.ok(ttl > 800_000 && ttl <= 905_000, `expiration ~900 s ahead (got ${ttl} ms)`);

    const s3 = new S3Client({
      endpoint: role.endpoint,
      region: role.region,
      forcePathStyle: true,
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
      credentials: { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey, sessionToken: creds.sessionToken },
    });
    t.after(() => s3.destroy());
    const bucket = `sts-${randomBytes(6).toString("hex")}`;
    const body = `web identity ${randomBytes(16).toString("hex")}`;
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    t.after(async () => {
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: "hello.txt" })).catch(() => undefined);
      await s3.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => undefined);
    });
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "hello.txt", Body: body }));
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "hello.txt" }));
    assert.equal(await got.Body?.transformToString(), body);
  });

  test("a token minted by the same issuer for the registered client is accepted (control for the refusals)", async () => {
    const creds = await assume(await mint());
    assert.ok(creds.sessionToken.length > 0);
  });

  const refusal = (err: unknown) => {
    assert.ok(err instanceof Error);
    const e = err as Error & { code?: string; status?: number; errCode?: number; retryable?: boolean };
    assert.equal(e.code, "AUTHZ_STS_REFUSED");
    assert.equal(e.status, 401);
    assert.equal(e.errCode, 401001);
    assert.equal(e.retryable, false);
    assert.match(e.message, /AccessDenied/, "carries STS's reason");
    return true;
  };

  test("a token for another audience is refused by STS", async () => {
    await assert.rejects(assume(await mint((p) => void (p.aud = "someone-else"))), refusal);
  });

  test("an expired token is refused by STS", async () => {
    await assert.rejects(assume(await mint(() => {}, -120)), refusal);
  });

  test("a token signed by another key (same issuer, same kid) is refused by STS", async () => {
    const [published] = oidc.server.issuer.keys.toJSON();
    assert.ok(published);
    const other = await generateX5cKey();
    const forger = new OAuth2Issuer();
    forger.url = oidc.issuer;
    await forger.keys.add({ ...other.jwk, kid: published.kid });
    const forged = await forger.buildToken({
      scopesOrTransform: (_header, payload) => void Object.assign(payload, { sub: "u-minted", aud: oidc.clientId }),
    });
    await assert.rejects(assume(forged), refusal);
  });

  test("a role the issuer is not trusted for is refused", async () => {
    const arn = role.roleArn.replace(/[^/]+$/, `no-such-role-${randomBytes(3).toString("hex")}`);
    await assert.rejects(
      assumeRoleWithWebIdentity({ endpoint: role.endpoint, region: role.region, roleArn: arn, webIdentityToken: await mint(), durationSeconds: 900, roleSessionName: "x" }),
      refusal,
    );
  });

  test("an unreachable STS is a retryable 503, not a refusal", async () => {
    await assert.rejects(
      assumeRoleWithWebIdentity({ endpoint: "http://127.0.0.1:9", region: role.region, roleArn: role.roleArn, webIdentityToken: await mint(), durationSeconds: 900, roleSessionName: "x" }),
      (err: Error & { code?: string; status?: number; retryable?: boolean }) => {
        assert.equal(err.code, "AUTHZ_STS_UNAVAILABLE");
        assert.equal(err.status, 503);
        assert.equal(err.retryable, true);
        return true;
      },
    );
  });
});

describe("the stack's STS set-up (scripts/stack.sh: S3_STS_ROLE_ARN for OIDC_ISSUER)", () => {
  test("an ID token from the stack's OpenID Connect provider for OIDC_CLIENT_ID assumes S3_STS_ROLE_ARN", async () => {
    const env = stackEnv();
    const { oidcIssuer: issuer, oidcClientId: clientId } = env;
    const roleArn = env.sts.roleArn;
    assert.ok(issuer && clientId && roleArn, "OIDC_ISSUER, OIDC_CLIENT_ID and S3_STS_ROLE_ARN are in the stack env (run scripts/stack.sh up)");
    // The authorization-code flow by hand against the stack's provider: without a user name it shows
    // its sign-in page; the form's answer (user name, email) comes back as query parameters.
    const redirectUri = "http://127.0.0.1:9/callback";
    const authorize = new URL(`${issuer}/authorize`);
    for (const [k, v] of Object.entries({ response_type: "code", client_id: clientId, redirect_uri: redirectUri, scope: "openid", state: "s", nonce: "n" })) {
      authorize.searchParams.set(k, v);
    }
    const page = await fetch(authorize, { redirect: "manual" });
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<label for="username">User name<\/label>/);
    authorize.searchParams.set("username", "sts-check");
    const location = (await fetch(authorize, { redirect: "manual" })).headers.get("location");
    const code = location ? new URL(location).searchParams.get("code") : null;
    assert.ok(code, "the provider issued a code");
    const tokenRes = await fetch(`${issuer}/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "authorization_code", code, redirect_uri: redirectUri, client_id: clientId }),
    });
    const { id_token: idToken } = (await tokenRes.json()) as { id_token?: string };
    assert.ok(idToken);
    const claims = JSON.parse(Buffer.from(idToken.split(".")[1]!, "base64url").toString("utf8")) as Record<string, unknown>;
    assert.deepEqual([claims.iss, claims.sub, claims.email, claims.email_verified], [issuer, "sts-check", "sts-check@example.org", true]);
    const creds = await assumeRoleWithWebIdentity({
      endpoint: env.sts.endpoint,
      region: env.sts.region,
      roleArn,
      webIdentityToken: idToken,
      durationSeconds: 900,
      roleSessionName: "skyferry-stack-check",
    });
    assert.ok(creds.expiration.getTime() > Date.now());
    const s3 = new S3Client({
      endpoint: env.s3.endpoint,
      region: env.s3.region,
      forcePathStyle: true,
      credentials: { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey, sessionToken: creds.sessionToken },
    });
    try {
      const listed = await s3.send(new ListBucketsCommand({}));
      assert.ok(Array.isArray(listed.Buckets), "the temporary credentials are accepted by S3");
    } finally {
      s3.destroy();
    }
  });
});
