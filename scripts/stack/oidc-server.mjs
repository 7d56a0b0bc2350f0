#!/usr/bin/env node
// The local OpenID Connect provider of `npm start`, the test stack and Docker Compose: oauth2-mock-server
// (a repo devDependency) behind a small sign-in page where a person types a user name (and, if they
// like, an email), so one can sign in as several users. Tokens carry `sub`, `email`,
// `email_verified`, `name` and `preferred_username`.
//
//   node scripts/stack/oidc-server.mjs -a 127.0.0.1 -p 18090 [--issuer URL] [--public-url URL]
//
// --issuer      the issuer, pinned (default http://<address>:<port>): discovery, the tokens' `iss`,
//               and the token, JWKS and userinfo endpoints the relying party calls. Pinned because
//               oauth2-mock-server's own CLI rewrites any 127.x listen address to http://localhost.
// --public-url  the origin browsers reach this provider at, when it differs from the issuer (Docker
//               Compose: issuer http://oidc:18090 for the services, http://localhost:18090 for
//               browsers). Only the browser-facing endpoints (sign-in page, end session) use it.
//
// It signs in anyone who types a name: a development provider, never for production.
// The signing key's JWKS entry carries a self-signed certificate (`x5c`): Ceph radosgw's STS
// verifies ID tokens with that certificate, not with n/e (see sts-setup.mjs).
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { keyWithCertificate } from "./oidc-key.mjs";
import { createLocalUsers, signInPage } from "./oidc-users.mjs";

const args = process.argv.slice(2);
const opt = (flag, def) => {
  const i = args.indexOf(flag);
  return i >= 0 && args[i + 1] ? args[i + 1] : def;
};
const host = opt("-a", "127.0.0.1");
const port = Number(opt("-p", "18090"));
const issuer = opt("--issuer", `http://${host.includes(":") ? `[${host}]` : host}:${port}`).replace(/\/+$/, "");
const publicUrl = opt("--public-url", issuer).replace(/\/+$/, "");

// resolve the package from the repo root (this file lives in <repo>/scripts/stack/)
const require = createRequire(new URL("../../package.json", import.meta.url));
const { OAuth2Server } = await import(pathToFileURL(require.resolve("oauth2-mock-server")).href);

const oauth = new OAuth2Server();
const jwk = await oauth.issuer.keys.add(await keyWithCertificate());
oauth.issuer.url = issuer;
const users = createLocalUsers(oauth.service);
oauth.service.on("beforeWellKnownOpenIdConfiguration", (res) => {
  res.body.authorization_endpoint = `${publicUrl}/authorize`;
  res.body.end_session_endpoint = `${publicUrl}/endsession`;
});

const handle = oauth.service.requestHandler;
const server = createServer((req, res) => {
  const url = new URL(req.url ?? "/", "http://local");
  if (req.method === "GET" && url.pathname === "/authorize") {
    // No user yet, or one the form refuses: show the sign-in page (the client's parameters ride along).
    const problem = users.problemWith(url.searchParams);
    if (problem !== null) return signInPage(res, url.searchParams, problem);
  }
  if (req.method === "GET" && url.pathname === "/") return signInPage(res, url.searchParams, "", { info: true });
  handle(req, res);
});
server.listen(port, host, () => {
  console.log(`local OpenID Connect provider on http://${host}:${port}, issuer ${issuer}, sign-in page ${publicUrl}/authorize, key ${jwk.kid}`);
});

for (const sig of ["SIGTERM", "SIGINT"]) {
  process.once(sig, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
