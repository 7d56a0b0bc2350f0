import { randomBytes, X509Certificate } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { keyWithCertificate } from "../../scripts/stack/oidc-key.mjs";
import { Events, type MutableResponse, type MutableToken, OAuth2Server, type TokenRequestIncomingMessage } from "oauth2-mock-server";
import type { System } from "./system.ts";

/** A user at the mock provider. */
export interface MockUser {
  sub: string;
  email: string;
}

/** An in-process OpenID Connect provider (oauth2-mock-server) that signs in whoever signIn names. */
export interface MockOidc {
  server: OAuth2Server;
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** SHA-1 thumbprint (hex) of the certificate in the signing key's `x5c`, for STS registration. */
  certThumbprint: string;
  /** Changes the payload of the next ID token it signs (wrong audience, expired, ...). */
  onNextIdToken(patch: (payload: Record<string, unknown>) => void): void;
  /** Changes the next token endpoint response (drop `id_token`, answer an error, ...). */
  onNextTokenResponse(patch: (res: { body: Record<string, unknown>; statusCode: number }, grantType: string) => void): void;
  close(): Promise<void>;
}

/** The authorization request parameter signIn uses to tell the mock who signs in. */
const USER_PARAM = "skyferry_test_user";

/**
 * Starts a provider on 127.0.0.1 with a fresh RS256 key and a random client secret. The JWKS carries
 * the key's self-signed certificate (`x5c`): Ceph radosgw's STS verifies ID tokens with it.
 */
export async function startOidcProvider(): Promise<MockOidc> {
  const server = new OAuth2Server();
  const key = await generateX5cKey();
  await server.issuer.keys.add(key.jwk);
  await server.start(0, "127.0.0.1");
  // start() names the issuer http://localhost:<port>; pin it to the address we listen on.
  server.issuer.url = `http://127.0.0.1:${server.address().port}`;
  const byCode = new Map<string, MockUser>();
  const byRefresh = new Map<string, MockUser>();
  const idTokenPatches: Array<(p: Record<string, unknown>) => void> = [];
  const responsePatches: Array<(res: { body: Record<string, unknown>; statusCode: number }, grantType: string) => void> = [];
  const userOf = (req: TokenRequestIncomingMessage): MockUser | undefined => {
    const body = bodyOf(req);
    if (body.grant_type === "authorization_code") return byCode.get(String(body.code));
    if (body.grant_type === "refresh_token") return byRefresh.get(String(body.refresh_token));
    return undefined;
  };

  server.service.on(Events.BeforeAuthorizeRedirect, ({ url }: { url: URL }, req: IncomingMessage & { query?: unknown }) => {
    const raw = (req.query as Record<string, unknown> | undefined)?.[USER_PARAM];
    const code = url.searchParams.get("code");
    if (typeof raw === "string" && code) byCode.set(code, JSON.parse(Buffer.from(raw, "base64url").toString("utf8")) as MockUser);
  });
  server.service.on(Events.BeforeTokenSigning, (token: MutableToken, req: TokenRequestIncomingMessage) => {
    const user = userOf(req);
    if (user) Object.assign(token.payload, { sub: user.sub, email: user.email, email_verified: true });
    // The ID token is the one with an audience and no scope (the access token has a scope).
    const isIdToken = "aud" in token.payload && !("scope" in token.payload);
    if (isIdToken) idTokenPatches.shift()?.(token.payload as Record<string, unknown>);
  });
  server.service.on(Events.BeforeResponse, (res: MutableResponse, req: TokenRequestIncomingMessage) => {
    const user = userOf(req);
    const body = res.body === "" ? {} : res.body;
    const grant = String((bodyOf(req)).grant_type);
    if (grant === "authorization_code") byCode.delete(String((bodyOf(req)).code));
    const patch = responsePatches.shift();
    if (patch) {
      const mutable = { body, statusCode: res.statusCode };
      patch(mutable, grant);
      res.body = mutable.body;
      res.statusCode = mutable.statusCode;
    }
    const refresh = res.body === "" ? undefined : res.body.refresh_token;
    if (user && typeof refresh === "string") byRefresh.set(refresh, user);
  });

  return {
    server,
    issuer: server.issuer.url,
    clientId: `skyferry-test-${randomBytes(4).toString("hex")}`,
    clientSecret: randomBytes(24).toString("base64url"),
    certThumbprint: key.thumbprint,
    onNextIdToken: (patch) => void idTokenPatches.push(patch),
    onNextTokenResponse: (patch) => void responsePatches.push(patch),
    close: () => server.stop(),
  };
}

/**
 * A fresh RSA key as a private JWK (kid, alg RS256) with a self-signed certificate for its public
 * half in `x5c` (the JWKS shows only the public fields and `x5c`), and that certificate's SHA-1 thumbprint.
 */
export async function generateX5cKey(): Promise<{ jwk: Record<string, unknown> & { kid: string }; thumbprint: string }> {
  // The stack's own provider makes its key the same way (scripts/stack/oidc-key.mjs).
  const jwk = keyWithCertificate();
  const cert = new X509Certificate(Buffer.from(jwk.x5c[0], "base64"));
  return { jwk, thumbprint: cert.fingerprint.replace(/:/g, "").toLowerCase() };
}

function bodyOf(req: TokenRequestIncomingMessage): Record<string, unknown> {
  return req.body as unknown as Record<string, unknown>;
}

/** The authz service environment that registers `oidc` as provider `name` (default `mock`). */
export function oidcEnv(oidc: MockOidc, name = "mock"): Record<string, string> {
  return {
    SKYFERRY_OIDC_PROVIDERS: JSON.stringify([
      { name, issuer: oidc.issuer, client_id: oidc.clientId, client_secret: oidc.clientSecret, allow_insecure_http: true },
    ]),
  };
}

export interface SignedIn {
  userId: string;
  /** A fresh API key (the user's only live one). */
  apiKey: string;
  /** `skyferry_session=<id>`, for a `cookie` header. */
  cookie: string;
  /** The identity's id, for cloud authorizations. */
  authnId: string;
  email: string;
}

/** Step 1: `/authnz/{provider}/login`: the provider URL and the login-state cookie. */
export async function beginLogin(sys: System, provider = "mock", headers: Record<string, string> = {}): Promise<{ authorizeUrl: string; loginCookie: string }> {
  const res = await fetch(`${sys.url}/authnz/${provider}/login`, { headers });
  if (res.status !== 200) throw new Error(`login: HTTP ${res.status} ${await res.text()}`);
  const { redirect_uri } = (await res.json()) as { redirect_uri: string };
  return { authorizeUrl: redirect_uri, loginCookie: cookiePair(res, "skyferry_login_state") };
}

/** Step 2: the provider "signs in" `user` and answers with the callback URL (code and state). */
export async function authorizeAt(authorizeUrl: string, user: MockUser): Promise<string> {
  const url = new URL(authorizeUrl);
  url.searchParams.set(USER_PARAM, Buffer.from(JSON.stringify(user)).toString("base64url"));
  const res = await fetch(url, { redirect: "manual" });
  const location = res.headers.get("location");
  if (res.status !== 302 || !location) throw new Error(`authorize: HTTP ${res.status} ${await res.text()}`);
  return location;
}

/** Step 3: the browser comes back to the gateway's callback. */
export function finishLogin(callbackUrl: string, loginCookie: string): Promise<Response> {
  return fetch(callbackUrl, { redirect: "manual", headers: loginCookie ? { cookie: loginCookie } : {} });
}

/**
 * Signs a user in through the real authorization-code flow (gateway -> authz -> provider) and
 * creates an API key with the session. The system must run with `oidcEnv(oidc)` for authz.
 */
export async function signIn(sys: System, opts: { email?: string; subject?: string; provider?: string } = {}): Promise<SignedIn> {
  const sub = opts.subject ?? `u-${randomBytes(6).toString("hex")}`;
  const email = opts.email ?? `${sub}@example.org`;
  const { authorizeUrl, loginCookie } = await beginLogin(sys, opts.provider);
  const callback = await authorizeAt(authorizeUrl, { sub, email });
  const done = await finishLogin(callback, loginCookie);
  if (done.status !== 302) throw new Error(`callback: HTTP ${done.status} ${await done.text()}`);
  const cookie = cookiePair(done, "skyferry_session");
  // A cookie-authenticated POST carries the session's CSRF token (services/gateway/src/plugins/csrf.ts).
  const csrf = await csrfToken(sys, cookie);
  const keyRes = await fetch(`${sys.url}/api/users/current/api_key`, { method: "POST", headers: { cookie, "x-csrf-token": csrf } });
  if (keyRes.status !== 200) throw new Error(`api_key: HTTP ${keyRes.status} ${await keyRes.text()}`);
  const apiKey = (await keyRes.json()) as string;
  const me = (await (await fetch(`${sys.url}/api/users/current`, { headers: { "x-api-key": apiKey } })).json()) as { id: string };
  const identities = (await (await fetch(`${sys.url}/authnz/`, { headers: { cookie } })).json()) as Array<{ id: string; provider: string; email: string }>;
  const identity = identities.find((i) => i.provider === (opts.provider ?? "mock") && i.email === email);
  if (!identity) throw new Error("signIn: the new identity is not listed");
  return { userId: me.id, apiKey, cookie, authnId: identity.id, email };
}

/** The session's CSRF token (`GET /api/csrf`), for the `x-csrf-token` header of cookie-authenticated writes. */
export async function csrfToken(sys: System, cookie: string): Promise<string> {
  const res = await fetch(`${sys.url}/api/csrf`, { headers: { cookie } });
  if (res.status !== 200) throw new Error(`csrf: HTTP ${res.status} ${await res.text()}`);
  return ((await res.json()) as { csrf_token: string }).csrf_token;
}

/** `name=value` of a Set-Cookie in `res`, or "" when absent. */
export function cookiePair(res: Response, name: string): string {
  const line = res.headers.getSetCookie().find((c) => c.startsWith(`${name}=`));
  return line ? line.split(";")[0]! : "";
}
