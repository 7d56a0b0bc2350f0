import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { csrfToken, type MockOidc, oidcEnv, signIn, startOidcProvider } from "../support/auth.ts";
import { startSystem, type System } from "../support/system.ts";

describe("API keys through the gateway", () => {
  let oidc: MockOidc;
  let sys: System;
  before(async () => {
    oidc = await startOidcProvider();
    sys = await startSystem({ label: "apikeys", services: ["authz", "gateway"], env: { authz: oidcEnv(oidc) } });
  });
  after(async () => {
    await sys?.close();
    await oidc?.close();
  });

  const current = (headers: Record<string, string>, query = "") => fetch(`${sys.url}/api/users/current${query}`, { headers });

  test("a key authenticates as ?key= and as x-api-key; the session cookie does too", async () => {
    const u = await signIn(sys, { email: "keys@example.org" });
    for (const res of [await current({}, `?key=${u.apiKey}`), await current({ "x-api-key": u.apiKey }), await current({ cookie: u.cookie })]) {
      assert.equal(res.status, 200);
      const body = (await res.json()) as { id: string; email: string };
      assert.equal(body.id, u.userId);
      assert.equal(body.email, "keys@example.org");
    }
  });

  test("creating a key revokes the previous one: the old key gets 401 with err_code 401001", async () => {
    const u = await signIn(sys, { email: "rotate@example.org" });
    const created = await fetch(`${sys.url}/api/users/current/api_key`, { method: "POST", headers: { "x-api-key": u.apiKey } });
    assert.equal(created.status, 200);
    const fresh = (await created.json()) as string;
    assert.notEqual(fresh, u.apiKey);
    const old = await current({ "x-api-key": u.apiKey });
    assert.equal(old.status, 401);
    assert.equal(((await old.json()) as { err_code: number }).err_code, 401001);
    assert.equal((await current({ "x-api-key": fresh })).status, 200);
  });

  test("GET never mutates: with a session and no key it answers 204 and creates none; with a key it shows the key masked; POST creates (issue 19)", async () => {
    const u = await signIn(sys, { email: "getkey@example.org" });
    const token = await csrfToken(sys, u.cookie);
    const revoked = await fetch(`${sys.url}/api/users/current/api_key`, { method: "DELETE", headers: { cookie: u.cookie, "x-csrf-token": token } });
    assert.equal(revoked.status, 204);
    for (let i = 0; i < 2; i++) {
      const got = await fetch(`${sys.url}/api/users/current/api_key`, { headers: { cookie: u.cookie } });
      assert.equal(got.status, 204, "no key, and GET made none");
    }
    assert.equal((await fetch(`${sys.url}/api/users/current/api_key/detailed`, { headers: { cookie: u.cookie } })).status, 204, "still no key after two GETs");
    const created = await fetch(`${sys.url}/api/users/current/api_key`, { method: "POST", headers: { cookie: u.cookie, "x-csrf-token": token } });
    assert.equal(created.status, 200);
    const key = (await created.json()) as string;
    const shown = await fetch(`${sys.url}/api/users/current/api_key`, { headers: { "x-api-key": key } });
    assert.equal(shown.status, 200);
    const body = (await shown.json()) as { key: string; create_time: string };
    assert.ok(!body.key.includes(key) && body.key.startsWith(key.slice(0, 4)) && body.key.includes("****"), `masked: ${body.key}`);
    assert.equal((await current({ "x-api-key": key })).status, 200, "GET left the key working");
  });

  test("no credentials, an unknown key, another user's id and a malformed id are refused with Galaxy's codes", async () => {
    const a = await signIn(sys, { email: "a@example.org" });
    const b = await signIn(sys, { email: "b@example.org" });
    const none = await current({});
    assert.equal(none.status, 401);
    const unknown = await current({ "x-api-key": "0".repeat(64) });
    assert.equal(unknown.status, 401);
    assert.equal(((await unknown.json()) as { err_code: number }).err_code, 401001);
    const foreign = await fetch(`${sys.url}/api/users/${b.userId}/api_key/detailed`, { headers: { "x-api-key": a.apiKey } });
    assert.ok(foreign.status === 404 || foreign.status === 403, `another user's id refused, got ${foreign.status}`);
    const malformed = await fetch(`${sys.url}/api/users/not-an-id/api_key/detailed`, { headers: { "x-api-key": a.apiKey } });
    assert.equal(malformed.status, 400);
    assert.equal(((await malformed.json()) as { err_code: number }).err_code, 400009);
  });

  test("no API key or token appears in any log line of these flows", () => {
    assert.ok(sys.logs.lines.length > 0, "logs were captured");
    const leak = sys.logs.lines.find((l) => /[0-9a-f]{64}/.test(l));
    assert.equal(leak, undefined, "no 64-hex API key in the logs");
  });
});
