#!/usr/bin/env node
// STS set-up for scripts/stack.sh: lets ID tokens of the stack's OpenID Connect provider be
// exchanged for S3 credentials at radosgw (AssumeRoleWithWebIdentity), as AWS STS would.
//   S3_ACCESS_KEY_ID=… S3_SECRET_ACCESS_KEY=… node scripts/stack/sts-setup.mjs <rgw-endpoint> <region> <issuer> <client-id> <role-name>
// Registers <issuer> with radosgw's IAM (CreateOpenIDConnectProvider: audience <client-id>, the
// SHA-1 thumbprint of the certificate in the issuer's JWKS `x5c`), creates role <role-name> whose
// trust policy admits that issuer's tokens for <client-id>, and allows it every S3 action.
// Idempotent: an existing provider is kept, an existing role gets this trust policy. Prints the role ARN.
// radosgw (Pacific) verifies a token with the certificate in the JWKS key's `x5c` (the JWKS must
// hold one key), checks `aud` against the client ids and the expiry; hence oidc-server.mjs
// publishes an x5c certificate. Dependency-free (Node built-ins), like probe.mjs.
import crypto from "node:crypto";

const [endpoint, region, issuer, clientId, roleName] = process.argv.slice(2);
const ak = process.env.S3_ACCESS_KEY_ID;
const sk = process.env.S3_SECRET_ACCESS_KEY;
if (!endpoint || !region || !issuer || !clientId || !roleName || !ak || !sk) {
  console.error("usage: S3_ACCESS_KEY_ID=… S3_SECRET_ACCESS_KEY=… sts-setup.mjs <rgw-endpoint> <region> <issuer> <client-id> <role-name>");
  process.exit(2);
}
const TIMEOUT_MS = 10_000;

const sha256hex = (data) => crypto.createHash("sha256").update(data).digest("hex");
const hmac = (key, data) => crypto.createHmac("sha256", key).update(data).digest();

/** A SigV4-signed IAM query-API call (POST form); resolves to { status, body }. */
async function iam(action, params) {
  const url = new URL(endpoint);
  const body = new URLSearchParams({ Action: action, Version: "2010-05-08", ...params }).toString();
  const amzDate = new Date().toISOString().replace(/[:-]|\.\d{3}/g, "");
  const day = amzDate.slice(0, 8);
  const headers = {
    "content-type": "application/x-www-form-urlencoded; charset=utf-8",
    host: url.host,
    "x-amz-content-sha256": sha256hex(body),
    "x-amz-date": amzDate,
  };
  const names = Object.keys(headers).sort();
  const canonical = ["POST", url.pathname || "/", "", names.map((h) => `${h}:${headers[h]}\n`).join(""), names.join(";"), headers["x-amz-content-sha256"]].join("\n");
  const scope = `${day}/${region}/iam/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256hex(canonical)].join("\n");
  const kSigning = hmac(hmac(hmac(hmac(`AWS4${sk}`, day), region), "iam"), "aws4_request");
  const signature = crypto.createHmac("sha256", kSigning).update(toSign).digest("hex");
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${ak}/${scope}, SignedHeaders=${names.join(";")}, Signature=${signature}`;
  const res = await fetch(url, { method: "POST", headers, body, signal: AbortSignal.timeout(TIMEOUT_MS) });
  return { status: res.status, body: await res.text() };
}

const xml = (text, element) => new RegExp(`<${element}>([^<]*)</${element}>`).exec(text)?.[1];

/** Runs an IAM call; an "already exists" answer counts as success (re-runs keep what is there). */
async function ensure(action, params) {
  const res = await iam(action, params);
  if (res.status < 300) return res.body;
  const code = xml(res.body, "Code") ?? "";
  if (res.status === 409 || code === "EntityAlreadyExists") return "";
  throw new Error(`${action}: HTTP ${res.status} ${code} ${xml(res.body, "Message") ?? ""}`.trim());
}

async function getJson(url) {
  const res = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return res.json();
}

const discovery = await getJson(`${issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`);
const jwks = await getJson(discovery.jwks_uri);
const x5c = jwks.keys?.[0]?.x5c?.[0];
if (!x5c || jwks.keys.length !== 1) {
  throw new Error(`the issuer's JWKS must hold exactly one key with an x5c certificate (radosgw verifies tokens with it); got ${jwks.keys?.length ?? 0} key(s)${x5c ? "" : ", no x5c"}`);
}
const thumbprint = new crypto.X509Certificate(Buffer.from(x5c, "base64")).fingerprint.replace(/:/g, "").toLowerCase();
// radosgw names the provider, and matches a token's iss to it, by the issuer URL without its scheme.
const idp = issuer.replace(/^https?:\/\//, "").replace(/\/+$/, "");

await ensure("CreateOpenIDConnectProvider", { Url: issuer, "ClientIDList.member.1": clientId, "ThumbprintList.member.1": thumbprint });
const trust = {
  Version: "2012-10-17",
  Statement: [
    {
      Effect: "Allow",
      Principal: { Federated: [`arn:aws:iam:::oidc-provider/${idp}`] },
      Action: ["sts:AssumeRoleWithWebIdentity"],
      Condition: { StringEquals: { [`${idp}:app_id`]: clientId } },
    },
  ],
};
const created = await iam("CreateRole", { RoleName: roleName, Path: "/", AssumeRolePolicyDocument: JSON.stringify(trust) });
if (created.status >= 300) {
  // Already there (a re-run): make its trust policy name this issuer and client.
  await ensure("UpdateAssumeRolePolicy", { RoleName: roleName, PolicyDocument: JSON.stringify(trust) });
}
const allowS3 = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: ["s3:*"], Resource: ["arn:aws:s3:::*"] }] };
await ensure("PutRolePolicy", { RoleName: roleName, PolicyName: "s3-all", PolicyDocument: JSON.stringify(allowS3) });
const role = await iam("GetRole", { RoleName: roleName });
const arn = xml(role.body, "Arn");
if (role.status !== 200 || !arn) throw new Error(`GetRole ${roleName}: HTTP ${role.status}`);
console.log(arn);
