import { randomBytes } from "node:crypto";
import {
  CreateOpenIDConnectProviderCommand,
  CreateRoleCommand,
  DeleteOpenIDConnectProviderCommand,
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  IAMClient,
  PutRolePolicyCommand,
} from "@aws-sdk/client-iam";
import { stackEnv } from "./stack-env.ts";

/** A role at the stack's STS (Ceph radosgw) that web identities from one issuer may assume. */
export interface WebIdentityRole {
  roleArn: string;
  /** The STS endpoint and region to call AssumeRoleWithWebIdentity at. */
  endpoint: string;
  region: string;
  /** Removes the role, its policy and the OpenID Connect provider registration. */
  close(): Promise<void>;
}

/**
 * Registers `issuer` as an OpenID Connect provider with radosgw's IAM (audience `clientId`, the
 * issuer's certificate thumbprint) and creates a role that its ID tokens for `clientId` may assume,
 * allowed every S3 action. Signed with the stack's S3 user, which has the `roles` and
 * `oidc-provider` caps (scripts/stack.sh).
 */
export async function createWebIdentityRole(opts: { issuer: string; clientId: string; certThumbprint: string }): Promise<WebIdentityRole> {
  const env = stackEnv();
  const iam = new IAMClient({
    endpoint: env.sts.endpoint,
    region: env.sts.region,
    credentials: { accessKeyId: env.s3.accessKeyId, secretAccessKey: env.s3.secretAccessKey },
  });
  // radosgw names the provider (and matches the token's iss) by the issuer URL without its scheme.
  const idp = opts.issuer.replace(/^https?:\/\//, "").replace(/\/+$/, "");
  const provider = await iam.send(
    new CreateOpenIDConnectProviderCommand({ Url: opts.issuer, ClientIDList: [opts.clientId], ThumbprintList: [opts.certThumbprint] }),
  );
  const roleName = `skyferry-test-${randomBytes(6).toString("hex")}`;
  const trust = {
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { Federated: [`arn:aws:iam:::oidc-provider/${idp}`] },
        Action: ["sts:AssumeRoleWithWebIdentity"],
        Condition: { StringEquals: { [`${idp}:app_id`]: opts.clientId } },
      },
    ],
  };
  const role = await iam.send(new CreateRoleCommand({ RoleName: roleName, Path: "/", AssumeRolePolicyDocument: JSON.stringify(trust) }));
  const policy = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: ["s3:*"], Resource: ["arn:aws:s3:::*"] }] };
  await iam.send(new PutRolePolicyCommand({ RoleName: roleName, PolicyName: "s3-all", PolicyDocument: JSON.stringify(policy) }));
  const roleArn = role.Role?.Arn;
  if (!roleArn) throw new Error("CreateRole answered without an ARN");
  return {
    roleArn,
    endpoint: env.sts.endpoint,
    region: env.sts.region,
    close: async () => {
      await iam.send(new DeleteRolePolicyCommand({ RoleName: roleName, PolicyName: "s3-all" })).catch(() => undefined);
      await iam.send(new DeleteRoleCommand({ RoleName: roleName })).catch(() => undefined);
      await iam.send(new DeleteOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: provider.OpenIDConnectProviderArn })).catch(() => undefined);
      iam.destroy();
    },
  };
}
