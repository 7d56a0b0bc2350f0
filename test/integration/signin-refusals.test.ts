import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { MongoClient } from "mongodb";
import { authorizeAt, beginLogin, cookiePair, finishLogin, type MockOidc, oidcEnv, signIn, startOidcProvider } from "../support/auth.ts";
import { stackEnv } from "../support/stack-env.ts";
import { startSystem, type System } from "../support/system.ts";

// Issue 3: the real authorization-code flow (gateway -> authz -> oauth2-mock-server), with the
// state, the ID token's audience, expiry and nonce tampered with one at a time. Each must be
// refused with a 4xx Galaxy body, and leave no session and no identity behind.
describe("sign-in refusals through the gateway's authorization-code flow", () => {
  let oidc: MockOidc;
  let sys: System;
  let mongo: MongoClient;
  before(async () => {
    oidc = await startOidcProvider();
    sys = await startSystem({ label: "signin-refusals", services: ["authz", "gateway"], env: { authz: oidcEnv(oidc) } });
    mongo = await new MongoClient(stackEnv().mongoUrl).connect();
  });
  after(async () => {
    await mongo?.close();
    await sys?.close();
    await oidc?.close();
  });

  const newUser = () => {
    const sub = `u-${randomBytes(6).toString("hex")}`;
    return { sub, email: `${sub}@example.org` };
  };

  /** The callback's answer must be a 4xx Galaxy error with no session cookie, and nothing stored for `sub`. */
  async function assertRefused(res: Response, sub: string, reason: RegExp): Promise<void> {
    const text = await res.text();
    assert.ok(res.status >= 400 && res.status < 500, `4xx expected, got ${res.status}: ${text}`);
    const body = JSON.parse(text) as { err_msg?: unknown; err_code?: unknown };
    assert.equal(typeof body.err_msg, "string");
    assert.equal(body.err_code, 401001);
    assert.match(body.err_msg as string, reason);
    assert.doesNotMatch(text, /\n\s+at /, "no stack trace");
    assert.equal(cookiePair(res, "skyferry_session"), "", "no session cookie");
    const db = mongo.db(sys.db);
    assert.equal(await db.collection("identities").countDocuments({ subject: sub }), 0, "no identity stored");
    assert.equal(await db.collection("sessions").countDocuments({}), sessionsBefore, "no session stored");
  }

  let sessionsBefore = 0;
  const countSessions = async () => (sessionsBefore = await mongo.db(sys.db).collection("sessions").countDocuments({}));

  test("a forged state (not the one this browser started) is refused", async () => {
    await countSessions();
    const user = newUser();
    const { authorizeUrl, loginCookie } = await beginLogin(sys);
    const callback = new URL(await authorizeAt(authorizeUrl, user));
    callback.searchParams.set("state", randomBytes(16).toString("base64url"));
    await assertRefused(await finishLogin(callback.href, loginCookie), user.sub, /state/);
  });

  test("a forged state with a matching forged login cookie is refused by authz (unknown state)", async () => {
    await countSessions();
    const user = newUser();
    const { authorizeUrl } = await beginLogin(sys);
    const callback = new URL(await authorizeAt(authorizeUrl, user));
    const forged = randomBytes(16).toString("base64url");
    callback.searchParams.set("state", forged);
    await assertRefused(await finishLogin(callback.href, `skyferry_login_state=${forged}`), user.sub, /state/);
  });

  test("a callback without the login cookie is refused", async () => {
    await countSessions();
    const user = newUser();
    const { authorizeUrl } = await beginLogin(sys);
    await assertRefused(await finishLogin(await authorizeAt(authorizeUrl, user), ""), user.sub, /state/);
  });

  test("an ID token for another audience is refused", async () => {
    await countSessions();
    const user = newUser();
    oidc.onNextIdToken((p) => void (p.aud = "someone-else"));
    const { authorizeUrl, loginCookie } = await beginLogin(sys);
    await assertRefused(await finishLogin(await authorizeAt(authorizeUrl, user), loginCookie), user.sub, /'aud' claim/);
  });

  test("an expired ID token is refused", async () => {
    await countSessions();
    const user = newUser();
    const now = Math.floor(Date.now() / 1000);
    oidc.onNextIdToken((p) => Object.assign(p, { iat: now - 7200, nbf: now - 7200, exp: now - 3600 }));
    const { authorizeUrl, loginCookie } = await beginLogin(sys);
    await assertRefused(await finishLogin(await authorizeAt(authorizeUrl, user), loginCookie), user.sub, /'exp' claim/);
  });

  test("an ID token whose nonce is not the sign-in's nonce is refused", async () => {
    await countSessions();
    const user = newUser();
    oidc.onNextIdToken((p) => void (p.nonce = randomBytes(16).toString("base64url")));
    const { authorizeUrl, loginCookie } = await beginLogin(sys);
    await assertRefused(await finishLogin(await authorizeAt(authorizeUrl, user), loginCookie), user.sub, /'nonce' claim/);
  });

  test("an ID token from another issuer is refused", async () => {
    await countSessions();
    const user = newUser();
    oidc.onNextIdToken((p) => void (p.iss = "http://127.0.0.1:9/other"));
    const { authorizeUrl, loginCookie } = await beginLogin(sys);
    await assertRefused(await finishLogin(await authorizeAt(authorizeUrl, user), loginCookie), user.sub, /'iss' claim/);
  });

  test("a state cannot be replayed: the second use of a completed sign-in's callback is refused", async () => {
    const user = newUser();
    const { authorizeUrl, loginCookie } = await beginLogin(sys);
    const callback = await authorizeAt(authorizeUrl, user);
    const first = await finishLogin(callback, loginCookie);
    assert.equal(first.status, 302, await first.text());
    await countSessions();
    const again = await finishLogin(callback, loginCookie);
    const text = await again.text();
    assert.equal(again.status, 401, text);
    assert.equal((JSON.parse(text) as { err_code: number }).err_code, 401001);
    assert.equal(cookiePair(again, "skyferry_session"), "");
    assert.equal(await mongo.db(sys.db).collection("sessions").countDocuments({}), sessionsBefore);
  });

  test("after the refusals an untampered sign-in still succeeds (control)", async () => {
    const u = await signIn(sys);
    assert.match(u.userId, /^[0-9a-f]{16}$/);
  });
});

describe("failed API-key attempts from one client are rate-limited", () => {
  let oidc: MockOidc;
  let sys: System;
  const LIMIT = 4;
  before(async () => {
    oidc = await startOidcProvider();
    sys = await startSystem({
      label: "key-rate-limit",
      services: ["authz", "gateway"],
      env: { authz: { ...oidcEnv(oidc), SKYFERRY_AUTH_FAILURE_LIMIT: String(LIMIT) } },
    });
  });
  after(async () => {
    await sys?.close();
    await oidc?.close();
  });

  test(`after ${LIMIT} failed keys the client gets 429 with Retry-After and a Galaxy body`, async () => {
    const u = await signIn(sys);
    const me = (key: string) => fetch(`${sys.url}/api/users/current`, { headers: { "x-api-key": key } });
    assert.equal((await me(u.apiKey)).status, 200, "the real key works before");
    for (let i = 0; i < LIMIT; i++) {
      const res = await me(randomBytes(32).toString("hex"));
      assert.equal(res.status, 401, `attempt ${i + 1} is a plain 401`);
      assert.equal(((await res.json()) as { err_code: number }).err_code, 401001);
    }
    const limited = await me(randomBytes(32).toString("hex"));
    const body = (await limited.json()) as { err_msg: string; err_code: number };
    assert.equal(limited.status, 429);
    assert.equal(body.err_code, 429001);
    assert.match(body.err_msg, /Too many failed/);
    const retryAfter = Number(limited.headers.get("retry-after"));
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `retry-after ${retryAfter}`);
    // The query-string form of the key is counted against the same client.
    const viaQuery = await fetch(`${sys.url}/api/users/current?key=${randomBytes(32).toString("hex")}`);
    assert.equal(viaQuery.status, 429);
  });
});
