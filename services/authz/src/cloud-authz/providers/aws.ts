import { Type } from "@sinclair/typebox";
import { isSkyferryError } from "@skyferry/errors";
import { needsReauth } from "../../errors.ts";
import { checkS3Access } from "../access/s3-access.ts";
import { defineProvider } from "../provider.ts";
import { assumeRoleWithWebIdentity } from "./aws-sts.ts";

/**
 * AWS (or an STS-capable S3 store such as Ceph radosgw) through a role that trusts the user's
 * OpenID Connect identity: STS AssumeRoleWithWebIdentity with the identity's current ID token.
 *
 * `role_arn`: `arn:<partition>:iam::<12-digit account>:role/<path/name>`, or with an empty account
 * (`arn:aws:iam:::role/<name>`), the form Ceph radosgw uses for roles outside a tenant. The STS
 * endpoint is a service setting (SKYFERRY_AWS_STS_ENDPOINT), never per authorization: the ID
 * token's audience is this service, so sending it to a user-chosen URL would let that host
 * replay it against any role that trusts this service.
 */
export const AwsConfig = Type.Object(
  {
    role_arn: Type.String({
      pattern: "^arn:aws(-cn|-us-gov)?:iam::([0-9]{12})?:role/[A-Za-z0-9+=,.@_/-]{1,512}$",
      description: "must look like arn:aws:iam::123456789012:role/name (or arn:aws:iam:::role/name for Ceph)",
    }),
    token_ttl: Type.Integer({ default: 3600, minimum: 900, maximum: 43200, description: "an integer number of seconds from 900 to 43200" }),
    role_session_name: Type.Optional(Type.String({ pattern: "^[A-Za-z0-9+=,.@_-]{2,64}$", description: "2-64 characters from letters, digits and +=,.@_-" })),
    region: Type.String({ default: "us-east-1", pattern: "^[a-z0-9-]{1,32}$", description: "an AWS region such as us-east-1" }),
  },
  { additionalProperties: false },
);

export const awsProvider = defineProvider({
  name: "aws",
  schema: AwsConfig,
  secretFields: [],
  authn: "required",
  async issue(config, ctx) {
    if (!ctx.authnId) throw needsReauth("the authorization names no identity (authn_id)");
    let idToken: string;
    try {
      idToken = await ctx.idTokens.getFreshIdToken(ctx.authnId, { userId: ctx.userId });
    } catch (err) {
      if (isSkyferryError(err) && err.status === 404) throw needsReauth("its identity (authn_id) was disconnected; update the authorization", err);
      throw err;
    }
    const creds = await assumeRoleWithWebIdentity({
      ...(ctx.settings.awsStsEndpoint ? { endpoint: ctx.settings.awsStsEndpoint } : {}),
      region: config.region,
      roleArn: config.role_arn,
      webIdentityToken: idToken,
      durationSeconds: Math.min(config.token_ttl, ctx.settings.awsMaxSessionSeconds ?? config.token_ttl),
      // The session name shows in the provider's audit log: name the user by default.
      roleSessionName: config.role_session_name ?? `skyferry-${ctx.userId}`,
    });
    const endpoint = ctx.settings.awsS3Endpoint;
    return {
      credentials: {
        kind: "s3",
        ...(endpoint ? { endpoint } : {}),
        region: config.region,
        force_path_style: endpoint !== undefined,
        access_key_id: creds.accessKeyId,
        secret_access_key: creds.secretAccessKey,
        session_token: creds.sessionToken,
      },
      expiresAt: creds.expiration,
      verified: true,
    };
  },
  async checkAccess(issued, bucket, settings) {
    // Without a bucket, STS issuing credentials for the role is the proof; a role may well be
    // denied ListBuckets.
    if (bucket === undefined) return { ok: true, checked: "credentials" };
    if (issued.credentials.kind !== "s3") throw new Error("aws provider issued non-S3 credentials");
    return checkS3Access(issued.credentials, bucket, settings);
  },
});
