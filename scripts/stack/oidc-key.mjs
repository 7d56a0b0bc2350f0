// The local provider's signing key: a fresh RS256 private JWK whose `x5c` holds a self-signed
// certificate for its public key (Ceph radosgw's STS verifies ID tokens with that certificate and
// registers the issuer by its thumbprint). The key comes from node:crypto; node-forge builds and
// signs the certificate, so the provider needs no `openssl` command (Docker Compose runs it in a
// slim Node image).
import { generateKeyPairSync, randomBytes, sign } from "node:crypto";
import { createRequire } from "node:module";

const require = createRequire(new URL("../../package.json", import.meta.url));
const forge = require("node-forge");

export function keyWithCertificate() {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: "spki", format: "pem" }));
  cert.serialNumber = `01${randomBytes(8).toString("hex")}`; // positive
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 3650 * 24 * 3600 * 1000);
  const name = [{ name: "commonName", value: "skyferry-stack-oidc" }];
  cert.setSubject(name);
  cert.setIssuer(name);
  // Signed by node:crypto (forge's own RSA in JavaScript takes seconds): the to-be-signed part
  // is encoded by forge, its signature made natively, and the certificate assembled by forge.
  cert.signatureOid = cert.siginfo.algorithmOid = forge.pki.oids.sha256WithRSAEncryption;
  const tbs = Buffer.from(forge.asn1.toDer(forge.pki.getTBSCertificate(cert)).getBytes(), "binary");
  cert.signature = sign("sha256", tbs, privateKey).toString("binary");
  const der = Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes(), "binary");
  return { ...privateKey.export({ format: "jwk" }), kid: randomBytes(8).toString("hex"), alg: "RS256", use: "sig", x5c: [der.toString("base64")] };
}
