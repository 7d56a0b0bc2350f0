import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { csrfToken, type MockOidc, oidcEnv, signIn, type SignedIn, startOidcProvider } from "../support/auth.ts";
import { startSystem, type System } from "../support/system.ts";

/** The policy the console is built to (services/gateway/src/plugins/security.ts). */
const CSP =
  "default-src 'self';script-src 'self';style-src 'self';connect-src 'self';img-src 'self' data:;frame-ancestors 'none';object-src 'none';base-uri 'self';form-action 'self'";

interface GalaxyError {
  err_msg: string;
  err_code: number;
  code?: string;
}

describe("CSRF protection and security headers", () => {
  let oidc: MockOidc;
  let sys: System;
  before(async () => {
    oidc = await startOidcProvider();
    sys = await startSystem({ label: "security", services: ["authz", "gateway"], env: { authz: oidcEnv(oidc) } });
  });
  after(async () => {
    await sys?.close();
    await oidc?.close();
  });

  const newKey = (headers: Record<string, string>) => fetch(`${sys.url}/api/users/current/api_key`, { method: "POST", headers });
  const keyCreated = async (u: SignedIn) => {
    const res = await fetch(`${sys.url}/api/users/current/api_key/detailed`, { headers: { "x-api-key": u.apiKey } });
    assert.equal(res.status, 200, "the user's key still works");
    return ((await res.json()) as { create_time: string }).create_time;
  };
  const refused = async (res: Response, code: string) => {
    assert.equal(res.status, 403);
    const body = (await res.json()) as GalaxyError;
    assert.equal(body.err_code, 403002);
    assert.equal(body.code, code);
    assert.match(body.err_msg, /x-csrf-token|Origin/);
    return body;
  };

  test("a cookie-authenticated POST without x-csrf-token is refused with 403002 and changes nothing", async () => {
    const u = await signIn(sys, { email: "csrf-missing@example.org" });
    const before = await keyCreated(u);
    const body = await refused(await newKey({ cookie: u.cookie }), "CSRF_TOKEN_MISSING");
    assert.match(body.err_msg, /GET \/api\/csrf/);
    await refused(await fetch(`${sys.url}/api/users/current/api_key`, { method: "DELETE", headers: { cookie: u.cookie } }), "CSRF_TOKEN_MISSING");
    assert.equal(await keyCreated(u), before, "no new key was made, none was revoked");
  });

  test("a wrong token, or another session's token, is refused", async () => {
    const u = await signIn(sys, { email: "csrf-wrong@example.org" });
    const other = await signIn(sys, { email: "csrf-other@example.org" });
    await refused(await newKey({ cookie: u.cookie, "x-csrf-token": "not-the-token" }), "CSRF_TOKEN_INVALID");
    await refused(await newKey({ cookie: u.cookie, "x-csrf-token": await csrfToken(sys, other.cookie) }), "CSRF_TOKEN_INVALID");
  });

  test("with the token from GET /api/csrf the cookie-authenticated POST passes", async () => {
    const u = await signIn(sys, { email: "csrf-ok@example.org" });
    const res = await fetch(`${sys.url}/api/csrf`, { headers: { cookie: u.cookie } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("cache-control"), "no-store");
    const { csrf_token } = (await res.json()) as { csrf_token: string };
    assert.match(csrf_token, /^[A-Za-z0-9_-]{43}$/);
    assert.ok(!u.cookie.includes(csrf_token), "the token is not the session id");
    const created = await newKey({ cookie: u.cookie, "x-csrf-token": csrf_token, origin: sys.url });
    assert.equal(created.status, 200);
    const fresh = (await created.json()) as string;
    assert.notEqual(fresh, u.apiKey);
    const me = await fetch(`${sys.url}/api/users/current`, { headers: { "x-api-key": fresh } });
    assert.equal(me.status, 200);
  });

  test("a cookie-authenticated write from another origin is refused even with the token", async () => {
    const u = await signIn(sys, { email: "csrf-origin@example.org" });
    const token = await csrfToken(sys, u.cookie);
    for (const origin of ["https://evil.example", "null"]) {
      await refused(await newKey({ cookie: u.cookie, "x-csrf-token": token, origin }), "CSRF_ORIGIN_MISMATCH");
    }
  });

  test("API-key requests (x-api-key, ?key=) need no token", async () => {
    const u = await signIn(sys, { email: "csrf-key@example.org" });
    const byHeader = await newKey({ "x-api-key": u.apiKey });
    assert.equal(byHeader.status, 200);
    const key = (await byHeader.json()) as string;
    // A key wins over a cookie sent alongside, as in authentication.
    const byQuery = await fetch(`${sys.url}/api/users/current/api_key?key=${key}`, { method: "POST", headers: { cookie: u.cookie } });
    assert.equal(byQuery.status, 200);
  });

  test("GET /api/csrf is for sessions: 401 without credentials, 400 for an API key", async () => {
    const u = await signIn(sys, { email: "csrf-get@example.org" });
    const anon = await fetch(`${sys.url}/api/csrf`);
    assert.equal(anon.status, 401);
    assert.equal(((await anon.json()) as GalaxyError).err_code, 401001);
    const byKey = await fetch(`${sys.url}/api/csrf`, { headers: { "x-api-key": u.apiKey } });
    assert.equal(byKey.status, 400);
    assert.equal(((await byKey.json()) as GalaxyError).err_code, 400008);
  });

  test("reads with the cookie need no token, and sign-in (login, callback) is unaffected", async () => {
    // signIn itself goes through /authnz/{provider}/login and /callback with cookies.
    const u = await signIn(sys, { email: "csrf-read@example.org" });
    const me = await fetch(`${sys.url}/api/users/current`, { headers: { cookie: u.cookie } });
    assert.equal(me.status, 200);
    const login = await fetch(`${sys.url}/authnz/mock/login`, { headers: { cookie: u.cookie } });
    assert.equal(login.status, 200);
  });

  test("security headers are on the console root, API answers, errors and /openapi.json", async () => {
    const u = await signIn(sys, { email: "headers@example.org" });
    for (const [path, headers] of [
      ["/", {}],
      ["/api/users/current", { "x-api-key": u.apiKey }],
      ["/api/users/current", {}],
      ["/openapi.json", {}],
    ] as const) {
      const res = await fetch(`${sys.url}${path}`, { headers });
      await res.arrayBuffer();
      assert.equal(res.headers.get("content-security-policy"), CSP, `CSP on ${path} (${res.status})`);
      assert.equal(res.headers.get("x-content-type-options"), "nosniff");
      assert.equal(res.headers.get("x-frame-options"), "SAMEORIGIN");
      assert.equal(res.headers.get("referrer-policy"), "same-origin");
      assert.equal(res.headers.get("cross-origin-opener-policy"), "same-origin");
      assert.equal(res.headers.get("strict-transport-security"), null, "no HSTS on a plain-http gateway");
      assert.equal(res.headers.get("x-powered-by"), null);
    }
  });

  test("Swagger UI at /api/docs loads: its page and every script and stylesheet it names, same-origin, scripts never inline", async () => {
    const page = await fetch(`${sys.url}/api/docs/`);
    assert.equal(page.status, 200);
    const csp = page.headers.get("content-security-policy") ?? "";
    assert.match(csp, /script-src 'self';/, "scripts stay same-origin only");
    assert.match(csp, /style-src 'self' 'unsafe-inline';/, "inline styles allowed for Swagger UI only");
    assert.match(csp, /frame-ancestors 'none'/);
    const html = await page.text();
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, "no inline script");
    const assets = [...html.matchAll(/(?:src|href)="([^"]+\.(?:js|css))"/g)].map((m) => new URL(m[1]!, `${sys.url}/api/docs/`));
    assert.ok(assets.some((a) => a.pathname.endsWith("swagger-ui-bundle.js")) && assets.some((a) => a.pathname.endsWith(".css")));
    for (const asset of assets) {
      assert.equal(asset.origin, new URL(sys.url).origin, `${asset.href} is served by the gateway`);
      const res = await fetch(asset);
      const body = await res.text();
      assert.equal(res.status, 200, asset.pathname);
      assert.match(res.headers.get("content-type") ?? "", asset.pathname.endsWith(".js") ? /javascript/ : /text\/css/);
      assert.ok(body.length > 0);
      if (asset.pathname.endsWith("swagger-initializer.js")) assert.match(body, /SwaggerUIBundle\(/);
    }
    const spec = await fetch(`${sys.url}/api/docs/json`);
    assert.equal(spec.status, 200, "the document the UI loads");
  });
});

describe("security headers behind https", () => {
  let sys: System;
  before(async () => {
    sys = await startSystem({ label: "security-https", services: ["gateway"], env: { gateway: { SKYFERRY_PUBLIC_URL: "https://skyferry.example.org" } } });
  });
  after(async () => {
    await sys?.close();
  });

  test("HSTS is sent when SKYFERRY_PUBLIC_URL is https", async () => {
    const res = await fetch(`${sys.url}/api/users/current`);
    await res.arrayBuffer();
    assert.match(res.headers.get("strict-transport-security") ?? "", /^max-age=31536000; includeSubDomains$/);
  });

  test("an Origin naming SKYFERRY_PUBLIC_URL passes the origin check (and then needs the token)", async () => {
    const headers = { cookie: "skyferry_session=abc", origin: "https://skyferry.example.org" };
    const res = await fetch(`${sys.url}/api/users/current/api_key`, { method: "POST", headers });
    assert.equal(res.status, 403);
    assert.equal(((await res.json()) as GalaxyError).code, "CSRF_TOKEN_MISSING");
  });
});
