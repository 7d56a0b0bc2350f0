import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, test } from "node:test";
import { isSkyferryError } from "@skyferry/errors";
import { checkConfig } from "../src/cloud-authz/config-check.ts";
import type { ProviderModule } from "../src/cloud-authz/provider.ts";
import { createProviderRegistry } from "../src/cloud-authz/providers/index.ts";
import { createSecretBox } from "../src/crypto/secret-box.ts";
import { mask, openSecret, sealSecret, splitConfig } from "../src/cloud-authz/secrets.ts";

const providers = createProviderRegistry();

/** Validates like the service does: schema (with defaults), then the module's own rules. */
function validate(module: ProviderModule, raw: Record<string, unknown>): Record<string, unknown> {
  const config = checkConfig(module.name, module.schema, raw) as Record<string, unknown>;
  module.refine?.(config);
  return config;
}

function refusal(fn: () => unknown): { status: number; errCode: number; field: string | undefined; message: string } {
  try {
    fn();
  } catch (err) {
    assert.ok(isSkyferryError(err), `a coded error, got ${String(err)}`);
    return { status: err.status, errCode: err.errCode, field: err.field, message: err.message };
  }
  assert.fail("expected a refusal");
}

describe("aws config", () => {
  const aws = providers.get("aws");
  const arn = "arn:aws:iam::123456789012:role/data/skyferry";

  test("defaults token_ttl to 3600 and region to us-east-1; accepts Ceph's tenant-less ARN and other partitions", () => {
    assert.deepEqual(validate(aws, { role_arn: arn }), { role_arn: arn, token_ttl: 3600, region: "us-east-1" });
    for (const ok of ["arn:aws:iam:::role/ceph", "arn:aws-us-gov:iam::123456789012:role/r", "arn:aws-cn:iam::123456789012:role/a/b/c"]) {
      assert.equal(validate(aws, { role_arn: ok }).role_arn, ok);
    }
  });

  test("refuses malformed role ARNs, naming config.role_arn", () => {
    for (const bad of ["", "role/x", "arn:aws:iam::12345:role/x", "arn:aws:s3:::bucket", "arn:aws:iam::123456789012:user/x", "arn:aws:iam::123456789012:role/"]) {
      const r = refusal(() => validate(aws, { role_arn: bad }));
      assert.deepEqual([r.status, r.errCode, r.field], [400, 400008, "config.role_arn"], bad);
      assert.match(r.message, /arn:aws:iam::123456789012:role\/name/);
    }
  });

  test("token_ttl must be an integer from 900 to 43200", () => {
    assert.equal(validate(aws, { role_arn: arn, token_ttl: 900 }).token_ttl, 900);
    assert.equal(validate(aws, { role_arn: arn, token_ttl: 43200 }).token_ttl, 43200);
    for (const bad of [899, 43201, 1800.5, "3600"]) {
      assert.equal(refusal(() => validate(aws, { role_arn: arn, token_ttl: bad })).field, "config.token_ttl", String(bad));
    }
  });

  test("a missing role_arn is 400007 and an unknown setting is 400008, both named", () => {
    assert.deepEqual(
      (({ errCode, field }) => ({ errCode, field }))(refusal(() => validate(aws, {}))),
      { errCode: 400007, field: "config.role_arn" },
    );
    const r = refusal(() => validate(aws, { role_arn: arn, sts_endpoint: "https://evil.example" }));
    assert.deepEqual([r.errCode, r.field], [400008, "config.sts_endpoint"]);
  });

  test("needs an identity and has no secrets", () => {
    assert.equal(aws.authn, "required");
    assert.deepEqual(aws.secretFields, []);
  });
});

describe("azure config", () => {
  const azure = providers.get("azure");
  const sp = { storage_account: "acct1", tenant_id: "00000000-0000-0000-0000-000000000001", client_id: "00000000-0000-0000-0000-000000000002", client_secret: "s3cr3t-value" };

  test("accepts exactly one of a service principal, account_key or sas", () => {
    assert.deepEqual(validate(azure, sp), sp);
    assert.ok(validate(azure, { storage_account: "acct1", account_key: randomBytes(64).toString("base64") }));
    assert.ok(validate(azure, { storage_account: "acct1", sas: "?sv=2024-01-01&sr=c&sp=rl&se=2030-01-01T00:00:00Z&sig=abc%3D" }));
  });

  test("no form is 400007; two forms are 400008; a partial service principal names the missing field", () => {
    assert.deepEqual((({ errCode, field }) => ({ errCode, field }))(refusal(() => validate(azure, { storage_account: "acct1" }))), { errCode: 400007, field: "config.client_secret" });
    const two = refusal(() => validate(azure, { ...sp, sas: "sv=1&sig=x" }));
    assert.deepEqual([two.errCode, two.field], [400008, "config.sas"]);
    const { client_id: _omit, ...partial } = sp;
    const r = refusal(() => validate(azure, partial));
    assert.deepEqual([r.errCode, r.field], [400007, "config.client_id"]);
    const host = refusal(() => validate(azure, { storage_account: "acct1", sas: "sv=1&sig=x", authority_host: "https://login.example" }));
    assert.equal(host.field, "config.authority_host");
  });

  test("checks the account name, endpoint and authority host shapes", () => {
    assert.equal(refusal(() => validate(azure, { ...sp, storage_account: "Has_Upper" })).field, "config.storage_account");
    assert.equal(refusal(() => validate(azure, { ...sp, endpoint: "ftp://x" })).field, "config.endpoint");
    assert.equal(refusal(() => validate(azure, { ...sp, authority_host: "http://login.example" })).field, "config.authority_host");
    assert.equal(refusal(() => validate(azure, { storage_account: "acct1", sas: "sv=1&sp=r" })).field, "config.sas", "a SAS needs a signature");
  });

  test("client_secret, account_key and sas are the secrets", () => {
    assert.deepEqual([...azure.secretFields].sort(), ["account_key", "client_secret", "sas"]);
  });
});

describe("s3 config", () => {
  const s3 = providers.get("s3");
  test("fills region and force_path_style; names a missing endpoint", () => {
    const c = validate(s3, { endpoint: "http://127.0.0.1:7480", access_key_id: "AK", secret_access_key: "SK" });
    assert.deepEqual(c, { endpoint: "http://127.0.0.1:7480", access_key_id: "AK", secret_access_key: "SK", region: "us-east-1", force_path_style: true });
    const r = refusal(() => validate(s3, { access_key_id: "AK", secret_access_key: "SK" }));
    assert.deepEqual([r.errCode, r.field], [400007, "config.endpoint"]);
    assert.equal(refusal(() => validate(s3, { ...c, force_path_style: "yes" })).field, "config.force_path_style");
  });

  test("a refusal never echoes the value it refused (it may be a secret)", () => {
    const secret = `not-a-string-${randomBytes(8).toString("hex")}`;
    const r = refusal(() => validate(s3, { endpoint: secret, access_key_id: "AK", secret_access_key: "SK" }));
    assert.ok(!r.message.includes(secret), r.message);
  });
});

describe("provider registry", () => {
  test("lists aws, azure and s3; an unknown provider is 400008 naming provider", () => {
    assert.deepEqual(providers.names(), ["aws", "azure", "s3"]);
    const r = refusal(() => providers.get("gcp"));
    assert.deepEqual([r.status, r.errCode, r.field], [400, 400008, "provider"]);
    assert.match(r.message, /aws, azure, s3/);
  });
});

describe("secrets at rest", () => {
  const box = createSecretBox({ k1: randomBytes(32).toString("base64") }, "k1");
  const owner = { userId: "u1", authzId: "0123456789abcdef" };

  test("a long secret is masked as **** and its last 4 characters; a short one shows nothing", () => {
    assert.equal(mask(sealSecret(box, owner, "sas", "sv=2024&sig=abcdefghWXYZ")), "****WXYZ");
    assert.equal(mask(sealSecret(box, owner, "client_secret", "short")), "********");
  });

  test("sealed values carry their key id, open only for their own user, record and field, and never hold the plaintext", () => {
    const s = sealSecret(box, owner, "client_secret", "the-client-secret-value");
    assert.equal(s.kid, "k1");
    assert.equal(s.aad, 2);
    assert.ok(!JSON.stringify(s).includes("the-client-secret-value"));
    assert.equal(openSecret(box, owner, "client_secret", s), "the-client-secret-value");
    assert.throws(() => openSecret(box, { ...owner, authzId: "fedcba9876543210" }, "client_secret", s), "another record");
    assert.throws(() => openSecret(box, { ...owner, userId: "u2" }, "client_secret", s), "another user");
    assert.throws(() => openSecret(box, owner, "account_key", s), "another field");
  });

  test("a secret sealed before user binding (no aad marker) still opens for its record and field", () => {
    const legacy = { ...box.seal("old-secret", "cloudauthz:0123456789abcdef:sas"), hint: "" };
    assert.equal(openSecret(box, owner, "sas", legacy), "old-secret");
    assert.throws(() => openSecret(box, { ...owner, authzId: "fedcba9876543210" }, "sas", legacy), "another record");
  });

  test("splitConfig seals only the provider's secret fields", () => {
    const { plain, secrets } = splitConfig(box, owner, { storage_account: "a", account_key: "k".repeat(20) }, ["client_secret", "account_key", "sas"]);
    assert.deepEqual(plain, { storage_account: "a" });
    assert.deepEqual(Object.keys(secrets), ["account_key"]);
  });
});
