import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type MockOidc, oidcEnv, type SignedIn, signIn, startOidcProvider } from "../support/auth.ts";
import { call, hashResponse, Pattern, uploadMultipart } from "../support/history.ts";
import { startSystem, type System } from "../support/system.ts";

// The 1 GiB round trip, in its own file so it can be filtered (SKYFERRY_TEST_FILTER): streamed
// from a generator, never held in memory here or in the services.

type Hash = { hash_function: string; hash_value: string };

describe("history uploads: 1 GiB", () => {
  let oidc: MockOidc;
  let sys: System;
  let user: SignedIn;
  before(async () => {
    oidc = await startOidcProvider();
    sys = await startSystem({ label: "history-1gb", env: { authz: oidcEnv(oidc) } });
    user = await signIn(sys);
  });
  after(async () => {
    await sys?.close();
    await oidc?.close();
  });

  test("1 GiB streams in and back out byte-identical; hashes match; a Range in the middle is exact", { timeout: 600_000 }, async () => {
    const size = 1024 ** 3;
    const content = new Pattern(size);
    const expected = await content.digests();
    const h = (await call<{ id: string }>(sys.url, user.apiKey, "/api/histories", { method: "POST", body: { name: "big" } })).body;
    const up = await uploadMultipart(sys.url, user.apiKey, h.id, [{ name: "big.bin", content }]);
    assert.equal(up.status, 200, JSON.stringify(up.body));
    const d = up.body.outputs![0]! as { id: string; state: string; file_size: number; hashes: Hash[] };
    assert.equal(d.state, "ok");
    assert.equal(d.file_size, size);
    assert.deepEqual(d.hashes.map((x) => [x.hash_function, x.hash_value]).sort(), [["MD5", expected.md5], ["SHA-256", expected.sha256]]);
    const full = await fetch(`${sys.url}/api/datasets/${d.id}/display`, { headers: { "x-api-key": user.apiKey } });
    assert.equal(full.status, 200);
    assert.deepEqual(await hashResponse(full), { size, ...expected });
    const start = 512 * 1024 ** 2 - 3;
    const end = start + 3 * 1024 * 1024;
    const part = await fetch(`${sys.url}/api/datasets/${d.id}/display`, { headers: { "x-api-key": user.apiKey, range: `bytes=${start}-${end}` } });
    assert.equal(part.status, 206);
    assert.ok(Buffer.from(await part.arrayBuffer()).equals(content.slice(start, end)));
  });
});
