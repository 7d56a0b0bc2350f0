// The send tests' world on the real services: an OpenID Connect provider, the four services
// (startSystem), users signed in through the real authorization-code flow, cloud authorizations
// defined through POST /api/cloud/authz, and histories whose datasets are uploaded through the
// gateway's upload API. Nothing answers in place of a service.
import { AssumeRoleWithWebIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { S3Client } from "@aws-sdk/client-s3";
import { type MockOidc, oidcEnv, type SignedIn, signIn, startOidcProvider } from "./auth.ts";
import { type UploadFile, uploadMultipart } from "./history.ts";
import { createWebIdentityRole, type WebIdentityRole } from "./rgw-sts.ts";
import { api } from "./send.ts";
import { stackEnv } from "./stack-env.ts";
import { type NatsTarget, startSystem, type System } from "./system.ts";

export type SendProvider = "s3" | "azure" | "aws";

/** A dataset as the upload API answers it: `id` is what `dataset_ids` and `/contents` name. */
export interface UploadedDataset {
  id: string;
  hid: number;
  name: string;
  state: string;
}

export interface TestHistory {
  id: string;
  /** Uploads `files` through the gateway (POST /api/histories/{id}/contents); every one ends `ok`. */
  add(...files: UploadFile[]): Promise<UploadedDataset[]>;
}

export interface SendWorld {
  sys: System;
  oidc: MockOidc;
  /** The radosgw role `aws` authorizations assume (only with `aws: true`). */
  role: WebIdentityRole | undefined;
  /** A new user, signed in for real, with an API key. */
  user(): Promise<SignedIn>;
  /** Defines a cloud authorization for `user` (`aws`: the world's role, unless `config` names another). */
  authz(user: SignedIn, provider: SendProvider, config?: Record<string, unknown>): Promise<string>;
  history(user: SignedIn, name?: string): Promise<TestHistory>;
  close(): Promise<void>;
}

export interface SendWorldOptions {
  label: string;
  /** Extra environment of the transfer service (e.g. TRANSFER_WORKER_ENABLED=false). */
  transferEnv?: Record<string, string>;
  /** Extra environment of the authz service. */
  authzEnv?: Record<string, string>;
  /** Extra environment of the gateway (e.g. SKYFERRY_TRUSTED_PROXIES). */
  gatewayEnv?: Record<string, string>;
  /** Extra environment of every service (e.g. MONGO_URL of a database of the test's own). */
  allEnv?: Record<string, string>;
  /** Creates a radosgw role (web identity) for `aws` authorizations and points authz's STS at radosgw. */
  aws?: boolean;
  /** Another NATS than the stack's (startSystem's `nats`). */
  nats?: NatsTarget;
}

/** The stack's own keys as an `s3` / `azure` authorization config (what a user would paste in). */
export function stackAuthzConfig(provider: "s3" | "azure"): Record<string, unknown> {
  const { s3, azure } = stackEnv();
  return provider === "s3"
    ? { endpoint: s3.endpoint, region: s3.region, access_key_id: s3.accessKeyId, secret_access_key: s3.secretAccessKey, force_path_style: true }
    : { storage_account: azure.account, account_key: azure.key, endpoint: azure.endpoint };
}

export async function startSendWorld(options: SendWorldOptions): Promise<SendWorld> {
  const stack = stackEnv();
  const oidc = await startOidcProvider();
  let role: WebIdentityRole | undefined;
  let sys: System | undefined;
  try {
    const authzEnv: Record<string, string> = { ...oidcEnv(oidc), ...options.authzEnv };
    if (options.aws) {
      role = await createWebIdentityRole(oidc);
      Object.assign(authzEnv, { SKYFERRY_AWS_STS_ENDPOINT: role.endpoint, SKYFERRY_AWS_S3_ENDPOINT: stack.s3.endpoint }, options.authzEnv);
    }
    sys = await startSystem({ label: options.label, env: { authz: authzEnv, ...(options.transferEnv ? { transfer: options.transferEnv } : {}), ...(options.gatewayEnv ? { gateway: options.gatewayEnv } : {}), ...(options.allEnv ? { all: options.allEnv } : {}) }, ...(options.nats ? { nats: options.nats } : {}) });
  } catch (err) {
    await role?.close();
    await oidc.close();
    throw err;
  }
  const system = sys;
  return {
    sys: system,
    oidc,
    role,
    user: () => signIn(system),
    async authz(user, provider, config) {
      const body =
        provider === "aws"
          ? { provider, authn_id: user.authnId, config: config ?? { role_arn: role?.roleArn, region: stack.sts.region } }
          : { provider, config: config ?? stackAuthzConfig(provider) };
      const r = await api<{ id: string }>(system.url, "/api/cloud/authz", { key: user.apiKey, method: "POST", body });
      if (r.status !== 200) throw new Error(`POST /api/cloud/authz answered ${r.status}: ${JSON.stringify(r.body)}`);
      return r.body.id;
    },
    async history(user, name = "Unnamed history") {
      const h = await api<{ id: string }>(system.url, "/api/histories", { key: user.apiKey, method: "POST", body: { name } });
      if (h.status !== 200) throw new Error(`POST /api/histories answered ${h.status}: ${JSON.stringify(h.body)}`);
      return {
        id: h.body.id,
        async add(...files) {
          const up = await uploadMultipart(system.url, user.apiKey, h.body.id, files);
          if (up.status !== 200) throw new Error(`upload answered ${up.status}: ${JSON.stringify(up.body)}`);
          const outputs = (up.body.outputs ?? []) as unknown as UploadedDataset[];
          if (outputs.length !== files.length || outputs.some((d) => d.state !== "ok")) throw new Error(`upload: ${JSON.stringify(outputs)}`);
          return outputs;
        },
      };
    },
    async close() {
      await system.close();
      await role?.close();
      await oidc.close();
    },
  };
}

/**
 * An S3 client on a session of `role`, assumed straight at radosgw's STS with a token the provider
 * signs here (no skyferry code involved): radosgw lets only the role's sessions read what they wrote.
 */
export async function roleSession(oidc: MockOidc, role: WebIdentityRole): Promise<S3Client> {
  const token = await oidc.server.issuer.buildToken({
    expiresIn: 600,
    scopesOrTransform: (_header, payload) => void Object.assign(payload, { sub: "send-reader", aud: oidc.clientId }),
  });
  const sts = new STSClient({ endpoint: role.endpoint, region: role.region });
  try {
    const out = await sts.send(new AssumeRoleWithWebIdentityCommand({ RoleArn: role.roleArn, RoleSessionName: "send-reader", WebIdentityToken: token, DurationSeconds: 900 }));
    const c = out.Credentials!;
    const stack = stackEnv();
    return new S3Client({
      endpoint: stack.s3.endpoint,
      region: stack.s3.region,
      forcePathStyle: true,
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
      credentials: { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! },
    });
  } finally {
    sts.destroy();
  }
}
