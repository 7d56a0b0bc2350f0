#!/usr/bin/env node
// OpenID Connect test provider for scripts/stack.sh: oauth2-mock-server (repo devDependency) with
// the issuer pinned to the address we listen on.
//   node scripts/stack/oidc-server.mjs -a 127.0.0.1 -p 18090
// Why not `node_modules/.bin/oauth2-mock-server -a 127.0.0.1 -p 18090`: its CLI rewrites any 127.x
// listen address to an issuer of http://localhost:<port>, so the discovery document's "issuer" and
// the tokens' "iss" would not equal OIDC_ISSUER=http://127.0.0.1:<port> (OIDC clients reject that).
// The signing key's JWKS entry carries a self-signed certificate (`x5c`): Ceph radosgw's STS
// verifies ID tokens with that certificate, not with n/e (see sts-setup.mjs).
import { execFileSync } from "node:child_process";
import { generateKeyPairSync, randomBytes, X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const args = process.argv.slice(2);
const opt = (flag, def) => {
  const i = args.indexOf(flag);
  return i >= 0 && args[i + 1] ? args[i + 1] : def;
};
const host = opt("-a", "127.0.0.1");
const port = Number(opt("-p", "18090"));
const issuer = opt("--issuer", `http://${host.includes(":") ? `[${host}]` : host}:${port}`);

// resolve the package from the repo root (this file lives in <repo>/scripts/stack/)
const require = createRequire(new URL("../../package.json", import.meta.url));
const { OAuth2Server } = await import(pathToFileURL(require.resolve("oauth2-mock-server")).href);

/** A fresh RS256 private JWK whose `x5c` holds a self-signed certificate for its public key. */
function keyWithCertificate() {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const dir = mkdtempSync(join(tmpdir(), "skyferry-oidc-"));
  try {
    const keyFile = join(dir, "key.pem");
    writeFileSync(keyFile, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
    const pem = execFileSync("openssl", ["req", "-x509", "-new", "-key", keyFile, "-subj", "/CN=skyferry-stack-oidc", "-days", "3650"]);
    const cert = new X509Certificate(pem);
    return { ...privateKey.export({ format: "jwk" }), kid: randomBytes(8).toString("hex"), alg: "RS256", use: "sig", x5c: [cert.raw.toString("base64")] };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const server = new OAuth2Server();
const jwk = await server.issuer.keys.add(keyWithCertificate());
server.issuer.url = issuer; // start() only fills it in when unset
await server.start(port, host);
console.log(`oauth2-mock-server listening on http://${host}:${port}, issuer ${server.issuer.url}, key ${jwk.kid}`);

for (const sig of ["SIGTERM", "SIGINT"]) {
  process.once(sig, () => {
    server.stop().finally(() => process.exit(0));
  });
}
