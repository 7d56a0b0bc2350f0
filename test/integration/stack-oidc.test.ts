// The stack's own OpenID Connect provider (scripts/stack/oidc-server.mjs), the one `npm start` and
// Docker Compose run: its sign-in page, what it refuses, and the claims its tokens and userinfo carry.
// (The as-shipped suite, test/shipped/npm-start.test.ts, signs in through it in Chromium.)
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, test } from "node:test";
import { stackEnv } from "../support/stack-env.ts";

const issuer = stackEnv().oidcIssuer;
const clientId = stackEnv().oidcClientId ?? "skyferry-local";
const redirectUri = "http://127.0.0.1:9/callback";

function authorizeUrl(extra: Record<string, string> = {}): URL {
  const url = new URL(`${issuer}/authorize`);
  const params = { response_type: "code", client_id: clientId, redirect_uri: redirectUri, scope: "openid email", state: "st4te", nonce: "n0nce", ...extra };
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return url;
}

const payload = (jwt: string) => JSON.parse(Buffer.from(jwt.split(".")[1]!, "base64url").toString("utf8")) as Record<string, unknown>;

async function tokenRequest(body: Record<string, string>) {
  const res = await fetch(`${issuer}/token`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(body) });
  assert.equal(res.status, 200);
  return (await res.json()) as { id_token: string; access_token: string; refresh_token: string };
}

async function signIn(username: string, email?: string) {
  const res = await fetch(authorizeUrl({ username, ...(email === undefined ? {} : { email }) }), { redirect: "manual" });
  assert.equal(res.status, 302);
  const back = new URL(res.headers.get("location")!);
  assert.equal(back.origin + back.pathname, redirectUri);
  assert.equal(back.searchParams.get("state"), "st4te");
  return tokenRequest({ grant_type: "authorization_code", code: back.searchParams.get("code")!, redirect_uri: redirectUri, client_id: clientId });
}

describe("the stack's OpenID Connect provider", { skip: issuer ? false : "OIDC_ISSUER is not set: run scripts/stack.sh up" }, () => {
  test("shows a sign-in page that keeps the client's parameters, instead of signing anyone in", async () => {
    const res = await fetch(authorizeUrl(), { redirect: "manual" });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
    const html = await res.text();
    assert.match(html, /<label for="username">User name<\/label>/);
    assert.match(html, /<label for="email">Email \(optional\)<\/label>/);
    for (const [k, v] of [["client_id", clientId], ["redirect_uri", redirectUri], ["state", "st4te"], ["nonce", "n0nce"]]) {
      assert.ok(html.includes(`<input type="hidden" name="${k}" value="${v}">`), `hidden ${k}`);
    }
  });

  test("two user names are two users: tokens carry sub, email and email_verified", async () => {
    const name = `ada-${randomBytes(3).toString("hex")}`;
    const first = await signIn(name, "ada@lab.example.org");
    const second = await signIn(`bob-${randomBytes(3).toString("hex")}`);
    const a = payload(first.id_token);
    const b = payload(second.id_token);
    assert.deepEqual([a.iss, a.aud, a.sub, a.email, a.email_verified, a.nonce], [issuer, clientId, name, "ada@lab.example.org", true, "n0nce"]);
    assert.notEqual(b.sub, a.sub);
    assert.equal(b.email, `${String(b.sub)}@example.org`, "without an email, <user name>@example.org");
    const again = payload((await signIn(name, "ada@lab.example.org")).id_token);
    assert.equal(again.sub, a.sub, "the same name is the same subject");
  });

  test("userinfo and a refreshed ID token speak for the same person", async () => {
    const name = `cy-${randomBytes(3).toString("hex")}`;
    const tokens = await signIn(name);
    const info = await fetch(`${issuer}/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    assert.equal(info.status, 200);
    assert.deepEqual(await info.json(), { sub: name, email: `${name}@example.org`, email_verified: true, name, preferred_username: name });
    const refreshed = await tokenRequest({ grant_type: "refresh_token", refresh_token: tokens.refresh_token, client_id: clientId });
    assert.equal(payload(refreshed.id_token).sub, name);
    assert.equal(payload(refreshed.id_token).email, `${name}@example.org`);
    const unknown = await fetch(`${issuer}/userinfo`, { headers: { authorization: "Bearer not.a-token.here" } });
    assert.equal(unknown.status, 401);
  });

  test("refuses a malformed user name or email with the page and a reason, escaping what was typed", async () => {
    for (const [params, reason] of [
      [{ username: "<script>alert(1)</script>" }, /A user name is 1 to 64 letters/],
      [{ username: "" }, /A user name is 1 to 64 letters/],
      [{ username: "a".repeat(65) }, /A user name is 1 to 64 letters/],
      [{ username: "eve", email: "eve@" }, /does not look right/],
      [{ username: "eve", email: "\"><img src=x>@x.org" }, /does not look right/],
    ] as const) {
      const res = await fetch(authorizeUrl(params), { redirect: "manual" });
      assert.equal(res.status, 400, JSON.stringify(params));
      const html = await res.text();
      assert.match(html, reason);
      assert.ok(!html.includes("<script>alert") && !html.includes("<img"), "what was typed is escaped");
    }
  });

  test("discovery advertises the pinned issuer and the sign-in page's address", async () => {
    const doc = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as Record<string, string>;
    assert.equal(doc.issuer, issuer);
    assert.equal(doc.authorization_endpoint, `${issuer}/authorize`);
    assert.equal(doc.token_endpoint, `${issuer}/token`);
    const jwks = (await (await fetch(doc.jwks_uri!)).json()) as { keys: Array<{ x5c?: string[] }> };
    assert.ok(jwks.keys[0]?.x5c?.[0], "the JWKS keeps the x5c certificate radosgw's STS needs");
  });
});
