import { createRenewer } from "@skyferry/storage";
import type { S3Credentials, S3CredentialsSource } from "./options.ts";

/** The SDK's credential identity (structurally `AwsCredentialIdentity` of @aws-sdk/types). */
export interface AwsCredentialIdentity {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}
export type AwsCredentialIdentityProvider = () => Promise<AwsCredentialIdentity>;

/**
 * Adapts a credentials function to the SDK's provider interface. The SDK calls the provider before
 * every request once `expiration` is near; the renewer answers from its cache until `refreshMarginMs`
 * before expiry (at most half the lifetime), so the function is called once per renewal.
 */
export function renewingCredentials(source: S3CredentialsSource, refreshMarginMs: number, now: () => number = Date.now): AwsCredentialIdentityProvider {
  const current = createRenewer(async () => {
    const got = await source();
    return { value: got.credentials, expiresAt: got.expiresAt };
  }, refreshMarginMs, now);
  return async () => {
    const c = await current();
    return { ...toIdentity(c.value), expiration: new Date(c.expiresAt) };
  };
}

export function toIdentity(c: S3Credentials): AwsCredentialIdentity {
  return { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, ...(c.sessionToken ? { sessionToken: c.sessionToken } : {}) };
}
