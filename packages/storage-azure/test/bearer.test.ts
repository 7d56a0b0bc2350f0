import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { test } from "node:test";
import { promisify } from "node:util";
import { stackVar } from "@skyferry/storage/contract-suite";

const optional = (name: string): string | undefined => {
  try {
    return stackVar(name);
  } catch {
    return undefined;
  }
};
const ca = optional("SKYFERRY_TEST_CA");
const skip = !optional("AZURE_OAUTH_BLOB_ENDPOINT") || !ca ? "SKIPPED: the stack has no HTTPS OAuth Azurite (AZURE_OAUTH_BLOB_ENDPOINT, SKYFERRY_TEST_CA): bearer auth is NOT tested" : false;

test("bearer tokens that expire during an upload are renewed (Azurite with OAuth refuses expired tokens)", { skip }, async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", new URL("./bearer-upload.ts", import.meta.url).pathname, "3000"], {
    env: { ...process.env, NODE_EXTRA_CA_CERTS: ca },
    timeout: 60_000,
  });
  const r = JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}") as { elapsedMs: number; calls: number; equal: boolean; expiredToken: string };
  assert.ok(r.elapsedMs > 3000, `the upload (${r.elapsedMs} ms) outlived the first token`);
  assert.ok(r.calls >= 3, `tokens renewed (${r.calls} fetched)`);
  assert.equal(r.equal, true, "bytes read back equal");
  assert.ok(["INVALID_CREDENTIALS", "ACCESS_DENIED"].includes(r.expiredToken), `an expired token is refused (${r.expiredToken})`);
});
