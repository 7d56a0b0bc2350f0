import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { NatsCredentials } from "@skyferry/bus";

/**
 * The local stack's endpoints and credentials. `scripts/stack.sh up` writes them to
 * `.stack/env`; `npm test` sources that file, and a test started by hand reads it here.
 */
export interface StackEnv {
  natsUrl: string;
  /**
   * The stack's NATS trust material (docs/trust.md): the CA of the server's certificate, the folder
   * of one `<identity>.nk` seed per identity, and the `operator` seed tests connect with themselves.
   */
  nats: { caFile: string; seedDir: string; operatorSeedFile: string };
  /** The gateway's Ed25519 key pair for actor assertions (PEM files the stack made). */
  actor: { signingKeyFile: string; publicKeyFile: string };
  mongoUrl: string;
  s3: { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string };
  azure: { endpoint: string; account: string; key: string; oauthEndpoint: string | undefined };
  /**
   * STS (AssumeRoleWithWebIdentity) and IAM of the stack: radosgw itself, which verifies ID tokens
   * against the issuer's JWKS. `S3_STS_ENDPOINT`, else the S3 endpoint. `roleArn`: the role that ID
   * tokens of `oidcIssuer` for `oidcClientId` may assume (`S3_STS_ROLE_ARN`).
   */
  sts: { endpoint: string; region: string; roleArn: string | undefined };
  oidcIssuer: string | undefined;
  oidcClientId: string | undefined;
  testCa: string | undefined;
}

let cached: StackEnv | undefined;

export function stackEnv(): StackEnv {
  if (cached) return cached;
  const env: Record<string, string | undefined> = { ...fromFile(), ...process.env };
  const need = (name: string): string => {
    const v = env[name];
    if (!v) throw new Error(`${name} is not set: run 'npm run stack -- up' (or 'npm test', which does it) first.`);
    return v;
  };
  cached = {
    natsUrl: need("SKYFERRY_NATS_URL"),
    actor: { signingKeyFile: need("SKYFERRY_ACTOR_SIGNING_KEY_FILE"), publicKeyFile: need("SKYFERRY_ACTOR_PUBLIC_KEY_FILE") },
    nats: { caFile: need("SKYFERRY_NATS_TLS_CA_FILE"), seedDir: need("SKYFERRY_NATS_SEED_DIR"), operatorSeedFile: need("SKYFERRY_NATS_NKEY_SEED_FILE") },
    mongoUrl: need("MONGO_URL"),
    s3: {
      endpoint: need("S3_ENDPOINT"),
      region: env.S3_REGION ?? "us-east-1",
      accessKeyId: need("S3_ACCESS_KEY_ID"),
      secretAccessKey: need("S3_SECRET_ACCESS_KEY"),
    },
    azure: {
      endpoint: need("AZURE_BLOB_ENDPOINT"),
      account: need("AZURE_STORAGE_ACCOUNT"),
      key: need("AZURE_STORAGE_KEY"),
      oauthEndpoint: env.AZURE_OAUTH_BLOB_ENDPOINT,
    },
    sts: { endpoint: env.S3_STS_ENDPOINT ?? need("S3_ENDPOINT"), region: env.S3_REGION ?? "us-east-1", roleArn: env.S3_STS_ROLE_ARN },
    oidcIssuer: env.OIDC_ISSUER,
    oidcClientId: env.OIDC_CLIENT_ID,
    testCa: env.SKYFERRY_TEST_CA,
  };
  return cached;
}

function fromFile(): Record<string, string> {
  const dir = process.env.SKYFERRY_STACK_DIR ?? resolve(import.meta.dirname, "../../.stack");
  const file = resolve(dir, "env");
  if (!existsSync(file)) return {};
  const out: Record<string, string> = {};
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const m = line.match(/^(?:export\s+)?([A-Z0-9_]+)=(.*)$/);
    if (m) out[m[1]!] = unquote(m[2]!);
  }
  return out;
}

function unquote(v: string): string {
  if ((v.startsWith("'") && v.endsWith("'")) || (v.startsWith('"') && v.endsWith('"'))) return v.slice(1, -1);
  return v;
}

/** The identities a service of the stack connects as (packages/contracts/src/permissions.ts). */
export type StackIdentity = "gateway" | "authz" | "history" | "transfer" | "provisioner" | "monitor" | "publisher-example" | "operator";

/**
 * The trust settings (environment, as a service's config reads them) of one identity: a service a
 * test starts gets its own identity's seed, so the test runs under the permissions it ships with,
 * the CA of the NATS server, the actor public key, and for the gateway the actor signing key.
 */
export function natsEnv(identity: StackIdentity): Record<string, string> {
  const { natsUrl, nats, actor } = stackEnv();
  return {
    SKYFERRY_NATS_URL: natsUrl,
    SKYFERRY_NATS_TLS_CA_FILE: nats.caFile,
    SKYFERRY_NATS_NKEY_SEED_FILE: resolve(nats.seedDir, `${identity}.nk`),
    SKYFERRY_ACTOR_PUBLIC_KEY_FILE: actor.publicKeyFile,
    ...(identity === "gateway" ? { SKYFERRY_ACTOR_SIGNING_KEY_FILE: actor.signingKeyFile } : {}),
  };
}

/** Credentials of `identity` for `createBus` / `connectNats`; test code connecting itself uses `operator`. */
export function natsCredentials(identity: StackIdentity = "operator"): NatsCredentials {
  const { nats } = stackEnv();
  return { tlsCaFile: nats.caFile, nkeySeedFile: identity === "operator" ? nats.operatorSeedFile : resolve(nats.seedDir, `${identity}.nk`) };
}

/** `createBus` options for test code's own client: the stack's URL, as `operator`. */
export function testBusOptions(): { url: string; identity: string; credentials: NatsCredentials } {
  return { url: stackEnv().natsUrl, identity: "operator", credentials: natsCredentials("operator") };
}

/**
 * SKYFERRY_OUTBOUND_ALLOW for services started against the stack: its own radosgw (S3 and STS),
 * Azurite (both ports) and OIDC provider, each as IP:port, so loopback stays refused everywhere else.
 * `extra` adds a test's own loopback servers (e.g. a slow-link proxy or a token endpoint).
 */
export function stackOutboundAllow(...extra: string[]): string {
  const s = stackEnv();
  const urls = [s.s3.endpoint, s.sts.endpoint, s.azure.endpoint, s.azure.oauthEndpoint, s.oidcIssuer].filter((u): u is string => Boolean(u));
  const entries = urls.map((u) => {
    const url = new URL(u);
    return `${url.hostname}:${url.port || (url.protocol === "https:" ? "443" : "80")}`;
  });
  return [...new Set([...entries, ...extra])].join(",");
}
