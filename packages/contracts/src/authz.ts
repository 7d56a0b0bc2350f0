import { type Static, Type } from "@sinclair/typebox";
import { defineRpc } from "./define.ts";
import { Actor, Id, Timestamp } from "./envelope.ts";

// Contracts of the authz service. The authz service owns users, identities, sessions, API keys and
// cloud authorizations; it is the only service that turns an authorization into cloud credentials.

/** The cloud providers an authorization can be for. */
export const CloudProvider = Type.Union([Type.Literal("aws"), Type.Literal("azure"), Type.Literal("s3")]);
export type CloudProvider = Static<typeof CloudProvider>;

/** Who is calling: resolved by the gateway from `?key=`, `x-api-key`, or the session cookie. */
export const AuthzResolveActor = defineRpc(
  "authz.actor.resolve",
  1,
  Type.Object(
    {
      api_key: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
      session_id: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    },
    { additionalProperties: false },
  ),
  Type.Object({
    user_id: Id,
    email: Type.String(),
    via: Type.Union([Type.Literal("api_key"), Type.Literal("session")]),
  }),
);

/** Short-lived credentials for S3 and S3-compatible stores. */
export const S3Credentials = Type.Object({
  kind: Type.Literal("s3"),
  /** Custom endpoint for S3-compatible stores; absent for AWS. */
  endpoint: Type.Optional(Type.String()),
  region: Type.String(),
  force_path_style: Type.Boolean(),
  access_key_id: Type.String(),
  secret_access_key: Type.String(),
  session_token: Type.Optional(Type.String()),
});
export type S3Credentials = Static<typeof S3Credentials>;

/** Credentials for one Azure storage account, in one of three forms. */
export const AzureCredentials = Type.Object({
  kind: Type.Literal("azure"),
  /** e.g. https://<account>.blob.core.windows.net or an Azurite URL ending in /<account>. */
  account_url: Type.String(),
  account: Type.String(),
  auth: Type.Union([
    Type.Object({ type: Type.Literal("shared_key"), account_key: Type.String() }),
    Type.Object({ type: Type.Literal("sas"), sas: Type.String() }),
    Type.Object({ type: Type.Literal("bearer"), token: Type.String() }),
  ]),
});
export type AzureCredentials = Static<typeof AzureCredentials>;

export const ProviderCredentials = Type.Union([S3Credentials, AzureCredentials]);
export type ProviderCredentials = Static<typeof ProviderCredentials>;

/**
 * Credential vending for transfers: the actor must own the authorization (else 404).
 * Long transfers ask again before `expires_at`.
 */
export const AuthzIssueCredentials = defineRpc(
  "authz.credentials.issue",
  1,
  Type.Object({ actor: Actor, authz_id: Id }, { additionalProperties: false }),
  Type.Object({
    authz_id: Id,
    provider: CloudProvider,
    /** When these credentials stop working; null for long-lived keys. */
    expires_at: Type.Union([Timestamp, Type.Null()]),
    credentials: ProviderCredentials,
  }),
);

/** An authorization's non-secret summary; 404 unless the actor owns it. */
export const AuthzDescribe = defineRpc(
  "authz.authorization.describe",
  1,
  Type.Object({ actor: Actor, authz_id: Id }, { additionalProperties: false }),
  Type.Object({ id: Id, user_id: Id, provider: CloudProvider, description: Type.String() }),
);
