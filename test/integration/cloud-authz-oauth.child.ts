// Child process of cloud-authz-azure-sp.test.ts. It must start with NODE_EXTRA_CA_CERTS naming the
// stack's test CA, which Node reads only at start-up: the HTTPS Azurite (OAuth mode) and the local
// token endpoint below both use that certificate.
//
// Drives an Azure service-principal authorization end to end: a local Microsoft Entra ID stand-in
// (OpenID discovery + client-credentials token endpoint over https, checking the client secret),
// the authz service getting a token through @azure/identity, `/test` against Azurite with OAuth,
// and vended bearer credentials used for an upload. Prints one JSON line with what it saw.
import { randomBytes, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { BlobServiceClient, StorageSharedKeyCredential } from "@azure/storage-blob";
import { createBus } from "@skyferry/bus";
import { AuthzIssueCredentials } from "@skyferry/contracts";
import { createLogger } from "@skyferry/logger";
import { oidcEnv, signIn, startOidcProvider } from "../support/auth.ts";
import { stackEnv, stackOutboundAllow, testBusOptions } from "../support/stack-env.ts";
import { startSystem } from "../support/system.ts";
import { signedActor } from "@skyferry/actor/testing";

const stack = stackEnv();
const endpoint = stack.azure.oauthEndpoint!;
const ca = stack.testCa!;
const tenant = randomUUID();
const clientId = randomUUID();
const clientSecret = randomBytes(24).toString("base64url");
const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");

/** An Entra-ID-shaped access token; Azurite (`--oauth basic`) checks issuer, audience and times, not the signature. */
function mintToken(): string {
  const now = Math.floor(Date.now() / 1000);
  const claims = { iss: `https://sts.windows.net/${tenant}/`, aud: "https://storage.azure.com", iat: now - 60, nbf: now - 60, exp: now + 3600, oid: clientId, tid: tenant, appid: clientId };
  return `${b64({ alg: "RS256", typ: "JWT" })}.${b64(claims)}.c2lnbmF0dXJl`;
}

let tokenRequests = 0;
const entra = createServer({ cert: readFileSync(ca), key: readFileSync(join(dirname(ca), "key.pem")) }, (req, res) => {
  const base = `https://127.0.0.1:${(entra.address() as AddressInfo).port}/${tenant}`;
  const send = (status: number, body: object) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  const path = new URL(req.url ?? "/", "https://x").pathname;
  if (req.method === "GET" && path === `/${tenant}/v2.0/.well-known/openid-configuration`) {
    return send(200, {
      issuer: `${base}/v2.0`,
      authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
      token_endpoint: `${base}/oauth2/v2.0/token`,
      jwks_uri: `${base}/discovery/v2.0/keys`,
      response_types_supported: ["code", "token"],
      subject_types_supported: ["pairwise"],
      id_token_signing_alg_values_supported: ["RS256"],
    });
  }
  if (req.method === "POST" && path === `/${tenant}/oauth2/v2.0/token`) {
    let raw = "";
    req.on("data", (c: Buffer) => (raw += c.toString("utf8")));
    req.on("end", () => {
      tokenRequests++;
      const form = new URLSearchParams(raw);
      if (form.get("grant_type") !== "client_credentials" || form.get("scope") !== "https://storage.azure.com/.default") {
        return send(400, { error: "invalid_request", error_description: "AADSTS900144: unexpected grant or scope." });
      }
      if (form.get("client_id") !== clientId || form.get("client_secret") !== clientSecret) {
        return send(401, { error: "invalid_client", error_description: `AADSTS7000215: Invalid client secret provided. Trace ID: ${randomUUID()}`, error_codes: [7000215] });
      }
      send(200, { token_type: "Bearer", expires_in: 3599, ext_expires_in: 3599, access_token: mintToken() });
    });
    return;
  }
  send(404, { error: "not_found" });
});
await new Promise<void>((resolve) => entra.listen(0, "127.0.0.1", resolve));
const authorityHost = `https://127.0.0.1:${(entra.address() as AddressInfo).port}`;

const oidc = await startOidcProvider();
// The Entra ID stand-in is a loopback server: the operator allowlist names it beside the stack's own.
const sys = await startSystem({ label: "cloudauthz-sp", services: ["authz", "gateway"], env: { authz: { ...oidcEnv(oidc), SKYFERRY_OUTBOUND_ALLOW: stackOutboundAllow(new URL(authorityHost).host) } } });
const bus = await createBus({ ...testBusOptions(), namespace: sys.namespace, service: "probe", logger: createLogger({ name: "probe", level: "silent" }) });
const admin = new BlobServiceClient(endpoint, new StorageSharedKeyCredential(stack.azure.account, stack.azure.key));
const container = `sf-sp-${randomBytes(4).toString("hex")}`;
await admin.getContainerClient(container).create();
const bodies: string[] = [];
try {
  const user = await signIn(sys, { email: "sp@example.org" });
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${sys.url}${path}`, {
      method,
      headers: { "x-api-key": user.apiKey, "content-type": "application/json" },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    bodies.push(text);
    return { status: res.status, json: JSON.parse(text) as Record<string, unknown> };
  };
  const config = (secret: string) => ({ storage_account: stack.azure.account, endpoint, tenant_id: tenant, client_id: clientId, client_secret: secret, authority_host: authorityHost });

  const created = await api("POST", "/api/cloud/authz", { provider: "azure", config: config(clientSecret), description: "service principal" });
  const id = String(created.json.id);
  const ok = await api("POST", `/api/cloud/authz/${id}/test`, { bucket: container });
  const noBucket = await api("POST", `/api/cloud/authz/${id}/test`, {});
  const missing = await api("POST", `/api/cloud/authz/${id}/test`, { bucket: `${container}-missing` });

  const issued = await bus.request(AuthzIssueCredentials, { actor: await signedActor(user.userId, sys.namespace), authz_id: id });
  let uploaded = false;
  if (issued.credentials.kind === "azure" && issued.credentials.auth.type === "bearer") {
    const token = issued.credentials.auth.token;
    const expiresOnTimestamp = issued.expires_at ? Date.parse(issued.expires_at) : Date.now() + 60_000;
    const svc = new BlobServiceClient(issued.credentials.account_url, { getToken: async () => ({ token, expiresOnTimestamp }) });
    await svc.getContainerClient(container).getBlockBlobClient("sp.txt").upload("bearer", 6);
    uploaded = (await admin.getContainerClient(container).getBlobClient("sp.txt").getProperties()).contentLength === 6;
  }

  const wrongSecret = randomBytes(24).toString("base64url");
  const bad = await api("POST", "/api/cloud/authz", { provider: "azure", config: config(wrongSecret) });
  const refused = await api("POST", `/api/cloud/authz/${String(bad.json.id)}/test`, { bucket: container });
  const badAfter = await api("GET", `/api/cloud/authz/${String(bad.json.id)}`);

  const logs = sys.logs.text();
  const leaked = [clientSecret, wrongSecret, issued.credentials.kind === "azure" && issued.credentials.auth.type === "bearer" ? issued.credentials.auth.token : "none"].filter(
    (s) => logs.includes(s) || bodies.some((b) => b.includes(s)),
  ).length;
  console.log(
    JSON.stringify({
      created: { status: created.status, client_secret: (created.json.config as Record<string, unknown>).client_secret, masked_expected: `****${clientSecret.slice(-4)}` },
      ok: ok.json,
      noBucket: noBucket.json,
      missing: missing.json,
      issued: { kind: issued.credentials.kind, auth: issued.credentials.kind === "azure" ? issued.credentials.auth.type : null, expires_at: issued.expires_at },
      uploaded,
      refused: refused.json,
      badStatus: badAfter.json.status,
      tokenRequests,
      leaked,
      logLines: sys.logs.lines.length,
    }),
  );
} finally {
  await admin.getContainerClient(container).deleteIfExists();
  await bus.drain();
  await sys.close();
  await oidc.close();
  entra.close();
}
