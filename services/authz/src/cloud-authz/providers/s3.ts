import { Type } from "@sinclair/typebox";
import { checkS3Access } from "../access/s3-access.ts";
import { defineProvider } from "../provider.ts";

/** S3-compatible stores (Ceph, MinIO, Wasabi, R2, or AWS with static keys). */
export const S3Config = Type.Object(
  {
    endpoint: Type.String({ pattern: "^https?://[^\\s/?#]+(/[^\\s?#]*)?$", maxLength: 2048, description: "an http(s) URL, e.g. https://s3.example.org" }),
    access_key_id: Type.String({ minLength: 1, maxLength: 256, description: "a non-empty access key id" }),
    secret_access_key: Type.String({ minLength: 1, maxLength: 1024, description: "a non-empty secret" }),
    region: Type.String({ default: "us-east-1", pattern: "^[A-Za-z0-9_-]{1,64}$", description: "letters, digits, '-' and '_' (e.g. us-east-1)" }),
    force_path_style: Type.Boolean({ default: true, description: "true or false" }),
  },
  { additionalProperties: false },
);

export const s3Provider = defineProvider({
  name: "s3",
  schema: S3Config,
  secretFields: ["secret_access_key"],
  authn: "optional",
  destinations: (c) => [{ field: "config.endpoint", url: c.endpoint }],
  async issue(config) {
    // Static keys: nothing to exchange; they last until the owner revokes them.
    return {
      credentials: {
        kind: "s3",
        endpoint: config.endpoint,
        region: config.region,
        force_path_style: config.force_path_style,
        access_key_id: config.access_key_id,
        secret_access_key: config.secret_access_key,
      },
      expiresAt: null,
      verified: false,
    };
  },
  async checkAccess(issued, bucket, settings) {
    if (issued.credentials.kind !== "s3") throw new Error("s3 provider issued non-S3 credentials");
    return checkS3Access(issued.credentials, bucket, settings);
  },
});
