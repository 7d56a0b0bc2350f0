import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { authorizeAt, type MockOidc, oidcEnv, signIn, startOidcProvider } from "../support/auth.ts";
import { startSystem, type System } from "../support/system.ts";

// SKYFERRY_TRUSTED_PROXIES on the real gateway (authz and the OIDC provider real too): who the
// client is (the failed-attempt limiter's key) and which scheme/host sign-in redirects and cookie
// flags are built from, with and without a trusted proxy in front. The test process is the "proxy":
// it connects from 127.0.0.1 and sends X-Forwarded-* headers.

const LIMIT = 20; // the default SKYFERRY_AUTH_FAILURE_LIMIT

const badKey = () => randomBytes(32).toString("hex");
const me = (sys: System, key: string, headers: Record<string, string> = {}) => fetch(`${sys.url}/api/users/current`, { headers: { "x-api-key": key, ...headers } });
const xff = (client: string) => ({ "x-forwarded-for": client });

async function failAll(sys: System, headers: Record<string, string>, n = LIMIT): Promise<void> {
  for (let i = 0; i < n; i++) {
    const res = await me(sys, badKey(), headers);
    assert.equal(res.status, 401, `failure ${i + 1} of ${JSON.stringify(headers)} is a plain 401`);
    await res.arrayBuffer();
  }
}

/** Starts a sign-in with `headers`; the login-state cookie line and the redirect_uri the gateway sent the provider. */
async function beginLogin(sys: System, headers: Record<string, string>) {
  const res = await fetch(`${sys.url}/authnz/mock/login`, { headers });
  assert.equal(res.status, 200);
  const authorizeUrl = ((await res.json()) as { redirect_uri: string }).redirect_uri;
  const cookieLine = res.headers.getSetCookie().find((c) => c.startsWith("skyferry_login_state="));
  assert.ok(cookieLine, "a login-state cookie is set");
  return { authorizeUrl, cookieLine, redirectUri: new URL(authorizeUrl).searchParams.get("redirect_uri") ?? "" };
}

const isSecure = (cookieLine: string) => cookieLine.split(";").map((a) => a.trim().toLowerCase()).includes("secure");

describe("gateway with trusted proxies (SKYFERRY_TRUSTED_PROXIES=127.0.0.1,10.0.0.0/8)", () => {
  let oidc: MockOidc;
  let sys: System;
  before(async () => {
    oidc = await startOidcProvider();
    sys = await startSystem({
      label: "trusted-proxies",
      services: ["authz", "gateway"],
      env: { authz: oidcEnv(oidc), gateway: { SKYFERRY_TRUSTED_PROXIES: "127.0.0.1,10.0.0.0/8" } },
    });
  });
  after(async () => {
    await sys?.close();
    await oidc?.close();
  });

  test("clients named by X-Forwarded-For have their own failure counters: one client's 20 failures do not 429 another", async () => {
    const u = await signIn(sys, { email: "proxied@example.org" });
    await failAll(sys, xff("198.51.100.10"));
    const blocked = await me(sys, badKey(), xff("198.51.100.10"));
    assert.equal(blocked.status, 429, "the failing client is limited");
    assert.equal(((await blocked.json()) as { err_code: number }).err_code, 429001);
    // Through one more trusted hop (an in-cluster proxy in 10/8) it is still the same client.
    assert.equal((await me(sys, badKey(), xff("198.51.100.10, 10.1.2.3"))).status, 429);
    const other = await me(sys, badKey(), xff("198.51.100.20"));
    assert.equal(other.status, 401, "another client behind the same proxy is not limited");
    assert.equal((await me(sys, u.apiKey, xff("198.51.100.20"))).status, 200, "and its real key works");
    // A request without the header is the proxy itself (127.0.0.1): a third counter.
    assert.equal((await me(sys, badKey())).status, 401);
  });

  test("X-Forwarded-Proto https (no public URL): the redirect_uri is https on the forwarded host and the cookies are Secure", async () => {
    const headers = { "x-forwarded-proto": "https", "x-forwarded-host": "skyferry.example.org" };
    const login = await beginLogin(sys, headers);
    assert.equal(login.redirectUri, "https://skyferry.example.org/authnz/mock/callback");
    assert.ok(isSecure(login.cookieLine), login.cookieLine);
    const callback = new URL(await authorizeAt(login.authorizeUrl, { sub: `u-${randomBytes(4).toString("hex")}`, email: "secure@example.org" }));
    assert.equal(callback.origin, "https://skyferry.example.org");
    // The browser comes back through the proxy: same path and query, to the gateway.
    const done = await fetch(`${sys.url}${callback.pathname}${callback.search}`, {
      redirect: "manual",
      headers: { ...headers, cookie: login.cookieLine.split(";")[0]! },
    });
    assert.equal(done.status, 302, await done.text());
    const session = done.headers.getSetCookie().find((c) => c.startsWith("skyferry_session="));
    assert.ok(session, "a session cookie is set");
    assert.ok(isSecure(session), session);
    assert.equal((await fetch(`${sys.url}/api/users/current`, { headers: { cookie: session.split(";")[0]! } })).status, 200, "the session works");
  });

  test("plain http through the proxy: no Secure flag, redirect_uri http", async () => {
    const login = await beginLogin(sys, { "x-forwarded-proto": "http", "x-forwarded-host": "skyferry.example.org" });
    assert.equal(login.redirectUri, "http://skyferry.example.org/authnz/mock/callback");
    assert.equal(isSecure(login.cookieLine), false, login.cookieLine);
  });
});

describe("gateway with a hop count (SKYFERRY_TRUSTED_PROXIES=1)", () => {
  let oidc: MockOidc;
  let sys: System;
  before(async () => {
    oidc = await startOidcProvider();
    sys = await startSystem({ label: "trusted-hops", services: ["authz", "gateway"], env: { authz: oidcEnv(oidc), gateway: { SKYFERRY_TRUSTED_PROXIES: "1" } } });
  });
  after(async () => {
    await sys?.close();
    await oidc?.close();
  });

  test("the client is the address the one proxy saw: a spoofed X-Forwarded-For entry before it changes nothing", async () => {
    await failAll(sys, xff("203.0.113.5, 198.51.100.30"));
    assert.equal((await me(sys, badKey(), xff("203.0.113.99, 198.51.100.30"))).status, 429, "same client, other spoofed prefix");
    assert.equal((await me(sys, badKey(), xff("198.51.100.31"))).status, 401, "another client");
  });

  test("X-Forwarded-Proto https from the proxy makes the login cookie Secure and the redirect_uri https", async () => {
    const login = await beginLogin(sys, { "x-forwarded-proto": "https" });
    assert.equal(login.redirectUri, `https://${new URL(sys.url).host}/authnz/mock/callback`);
    assert.ok(isSecure(login.cookieLine), login.cookieLine);
  });
});

describe("gateway without trusted proxies (the default): forwarded headers are ignored", () => {
  let oidc: MockOidc;
  let sys: System;
  before(async () => {
    oidc = await startOidcProvider();
    sys = await startSystem({ label: "untrusted-proxies", services: ["authz", "gateway"], env: { authz: oidcEnv(oidc) } });
  });
  after(async () => {
    await sys?.close();
    await oidc?.close();
  });

  test("X-Forwarded-For does not split the failure counter: every request is the peer 127.0.0.1", async () => {
    for (let i = 0; i < LIMIT; i++) {
      const res = await me(sys, badKey(), xff(`198.51.100.${i + 1}`));
      assert.equal(res.status, 401, `failure ${i + 1}`);
      await res.arrayBuffer();
    }
    assert.equal((await me(sys, badKey(), xff("198.51.100.200"))).status, 429, "a 'new' forwarded client is the same peer");
  });

  test("X-Forwarded-Proto and -Host are ignored: redirect_uri on the request's own http origin, cookie not Secure", async () => {
    const login = await beginLogin(sys, { "x-forwarded-proto": "https", "x-forwarded-host": "skyferry.example.org" });
    assert.equal(login.redirectUri, `${sys.url}/authnz/mock/callback`);
    assert.equal(isSecure(login.cookieLine), false, login.cookieLine);
  });
});

describe("SKYFERRY_PUBLIC_URL wins over forwarded headers", () => {
  let oidc: MockOidc;
  let sys: System;
  before(async () => {
    oidc = await startOidcProvider();
    sys = await startSystem({
      label: "public-url-proxies",
      services: ["authz", "gateway"],
      env: { authz: oidcEnv(oidc), gateway: { SKYFERRY_TRUSTED_PROXIES: "127.0.0.1", SKYFERRY_PUBLIC_URL: "https://public.example.org" } },
    });
  });
  after(async () => {
    await sys?.close();
    await oidc?.close();
  });

  test("a trusted X-Forwarded-Proto http does not make the public https origin insecure", async () => {
    const login = await beginLogin(sys, { "x-forwarded-proto": "http", "x-forwarded-host": "other.example.org" });
    assert.equal(login.redirectUri, "https://public.example.org/authnz/mock/callback");
    assert.ok(isSecure(login.cookieLine), login.cookieLine);
  });
});

describe("a bad SKYFERRY_TRUSTED_PROXIES entry stops the gateway at start-up", () => {
  test("the ConfigError names the entry", async () => {
    await assert.rejects(
      startSystem({ label: "bad-proxies", services: ["gateway"], env: { gateway: { SKYFERRY_TRUSTED_PROXIES: "127.0.0.1, 10.0.0.0/40" } } }),
      (err: Error) => err.name === "ConfigError" && err.message.includes('SKYFERRY_TRUSTED_PROXIES: "10.0.0.0/40" is not'),
    );
  });
});

describe("the failure limiter never locks out valid credentials (issue 19)", () => {
  let oidc: MockOidc;
  let sys: System;
  before(async () => {
    oidc = await startOidcProvider();
    sys = await startSystem({ label: "lockout", services: ["authz", "gateway"], env: { authz: oidcEnv(oidc) } });
  });
  after(async () => {
    await sys?.close();
    await oidc?.close();
  });

  test("20 bad keys from one address, then 429 for a 21st bad one, yet a valid key and a session from that address get 200", async () => {
    const u = await signIn(sys, { email: "lockout@example.org" });
    // A fresh gateway key cache would hide nothing here: the valid key is resolved by authz too.
    await failAll(sys, {});
    const blocked = await me(sys, badKey());
    assert.equal(blocked.status, 429, "the failing address is limited");
    assert.ok(Number(blocked.headers.get("retry-after")) >= 1);
    await blocked.arrayBuffer();
    const valid = await me(sys, u.apiKey);
    assert.equal(valid.status, 200, "a valid key from the same address is served");
    assert.equal(((await valid.json()) as { id: string }).id, u.userId);
    const viaSession = await fetch(`${sys.url}/api/users/current`, { headers: { cookie: u.cookie } });
    assert.equal(viaSession.status, 200, "a valid session from the same address is served");
    await viaSession.arrayBuffer();
  });
});
