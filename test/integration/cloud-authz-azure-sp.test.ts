import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { test } from "node:test";
import { promisify } from "node:util";
import { stackEnv } from "../support/stack-env.ts";

const stack = stackEnv();
const skip =
  !stack.azure.oauthEndpoint || !stack.testCa
    ? "SKIPPED: the stack has no HTTPS OAuth Azurite (AZURE_OAUTH_BLOB_ENDPOINT, SKYFERRY_TEST_CA): Azure service principals are NOT tested"
    : false;

interface ChildResult {
  created: { status: number; client_secret: string; masked_expected: string };
  ok: Record<string, unknown>;
  noBucket: Record<string, unknown>;
  missing: Record<string, unknown>;
  issued: { kind: string; auth: string | null; expires_at: string | null };
  uploaded: boolean;
  refused: Record<string, unknown>;
  badStatus: string;
  tokenRequests: number;
  leaked: number;
  logLines: number;
}

// The child process starts with NODE_EXTRA_CA_CERTS (read by Node only at start-up) so the authz
// service trusts the local https token endpoint and the HTTPS Azurite.
test("azure service principal: a token from a local Entra ID stand-in over https, /test against Azurite (OAuth), vended bearer works, a wrong secret is refused", { skip }, async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", new URL("./cloud-authz-oauth.child.ts", import.meta.url).pathname], {
    env: { ...process.env, NODE_EXTRA_CA_CERTS: stack.testCa },
    timeout: 120_000,
  });
  const r = JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}") as ChildResult;
  assert.equal(r.created.status, 200);
  assert.equal(r.created.client_secret, r.created.masked_expected, "client_secret is masked");
  assert.equal(r.ok.ok, true, JSON.stringify(r.ok));
  assert.equal(r.ok.checked, "bucket");
  assert.ok(Date.parse(String(r.ok.expires_at)) > Date.now() + 30 * 60_000, "the token's expiry is reported");
  assert.deepEqual([r.noBucket.ok, r.noBucket.checked], [true, "credentials"]);
  assert.deepEqual([r.missing.ok, r.missing.code, r.missing.provider_code], [false, "no_such_bucket", "ContainerNotFound"]);
  assert.deepEqual([r.issued.kind, r.issued.auth], ["azure", "bearer"]);
  assert.ok(r.issued.expires_at && Date.parse(r.issued.expires_at) > Date.now(), "vended bearer credentials carry their expiry");
  assert.equal(r.uploaded, true, "the vended bearer token uploads to Azurite with OAuth");
  assert.equal(r.refused.ok, false);
  assert.equal(r.refused.code, "credentials_refused");
  assert.equal(r.refused.provider_code, "AADSTS7000215");
  assert.equal(r.badStatus, "refused");
  assert.ok(r.tokenRequests >= 4, `the token endpoint was used (${r.tokenRequests})`);
  assert.ok(r.logLines > 0, "logs were captured");
  assert.equal(r.leaked, 0, "neither client secret nor the bearer token appears in a response or a log line");
});
