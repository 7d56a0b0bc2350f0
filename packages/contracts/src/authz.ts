import { type Static, Type } from "@sinclair/typebox";
import { defineEvent, defineRpc } from "./define.ts";
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

// ---- Users, identities, sessions and API keys (sign-in with OpenID Connect) ----

/** A configured OpenID Connect provider's name, as it appears in `/authnz/{provider}/…`. */
export const ProviderName = Type.String({ pattern: "^[a-z0-9][a-z0-9_-]{0,62}$" });

/** Starts a sign-in: the provider's authorization URL and the state the callback must bring back. */
export const AuthzLoginBegin = defineRpc(
  "authz.login.begin",
  1,
  Type.Object(
    {
      provider: ProviderName,
      /** Where the provider sends the browser back: `<public origin>/authnz/<provider>/callback`. */
      redirect_uri: Type.String({ pattern: "^https?://", maxLength: 2048 }),
      /** When a signed-in user starts a sign-in, the new identity is connected to that user. */
      link_user_id: Type.Optional(Id),
    },
    { additionalProperties: false },
  ),
  Type.Object({ authorization_url: Type.String(), state: Type.String(), expires_at: Timestamp }),
);

/** Completes a sign-in from the callback's query string; 401 when anything does not verify. */
export const AuthzLoginComplete = defineRpc(
  "authz.login.complete",
  1,
  Type.Object(
    {
      provider: ProviderName,
      /** The callback's raw query string (code, state, iss, or error). */
      query: Type.String({ maxLength: 8192 }),
    },
    { additionalProperties: false },
  ),
  Type.Object({
    /** The session secret for the cookie; only its hash is stored. */
    session_id: Type.String(),
    session_expires_at: Timestamp,
    user_id: Id,
    authn_id: Id,
    email: Type.String(),
    new_user: Type.Boolean(),
  }),
);

/** Ends a session (unknown sessions are ignored). */
export const AuthzSessionLogout = defineRpc(
  "authz.session.logout",
  1,
  Type.Object({ session_id: Type.String({ minLength: 1, maxLength: 256 }) }, { additionalProperties: false }),
  Type.Object({ ended: Type.Boolean() }),
);

/** A third-party identity as `GET /authnz/` lists it; `id` is the `authn_id` cloud authorizations use. */
export const IdentitySummary = Type.Object({ id: Id, provider: Type.String(), email: Type.String() });
export type IdentitySummary = Static<typeof IdentitySummary>;

export const AuthzIdentitiesList = defineRpc(
  "authz.identities.list",
  1,
  Type.Object({ actor: Actor }, { additionalProperties: false }),
  Type.Object({ identities: Type.Array(IdentitySummary) }),
);

/** Removes the actor's identity at `provider` with that email; 404 when the actor has none. */
export const AuthzIdentityDisconnect = defineRpc(
  "authz.identity.disconnect",
  1,
  Type.Object({ actor: Actor, provider: ProviderName, email: Type.String({ minLength: 1, maxLength: 320 }) }, { additionalProperties: false }),
  Type.Object({ disconnected: Id }),
);

/** The signed-in user, in the shape of Galaxy's `GET /api/users/current`. */
export const UserView = Type.Object({
  id: Id,
  model_class: Type.Literal("User"),
  email: Type.String(),
  username: Type.String(),
  is_admin: Type.Boolean(),
  deleted: Type.Boolean(),
  create_time: Timestamp,
});
export type UserView = Static<typeof UserView>;

export const AuthzUserGet = defineRpc(
  "authz.user.get",
  1,
  Type.Object({ actor: Actor }, { additionalProperties: false }),
  UserView,
);

/**
 * Creates an API key for the actor and revokes every older one (Galaxy's rule). With
 * `only_if_none`, an existing key is kept and `key` is null: keys are shown once, stored as hashes.
 */
export const AuthzApiKeyCreate = defineRpc(
  "authz.api-key.create",
  1,
  Type.Object({ actor: Actor, only_if_none: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
  Type.Object({ created: Type.Boolean(), key: Type.Union([Type.String(), Type.Null()]), create_time: Timestamp }),
);

/** The actor's current key, masked (only its first characters), or null when there is none. */
export const AuthzApiKeyDescribe = defineRpc(
  "authz.api-key.describe",
  1,
  Type.Object({ actor: Actor }, { additionalProperties: false }),
  Type.Union([Type.Object({ key: Type.String(), create_time: Timestamp }), Type.Null()]),
);

/** Revokes the actor's key(s). */
export const AuthzApiKeyDelete = defineRpc(
  "authz.api-key.delete",
  1,
  Type.Object({ actor: Actor }, { additionalProperties: false }),
  Type.Object({ revoked: Type.Integer({ minimum: 0 }) }),
);

/**
 * A user's API keys were revoked (a new key, a delete): gateways drop cached key→user entries
 * for that user. Core NATS, fire-and-forget; caches are short-lived anyway.
 */
export const AuthzApiKeysRevoked = defineEvent(
  "skyferry.authz.api-keys.revoked.v1",
  Type.Object({ user_id: Id, time: Timestamp }),
  (ns: string, userId: string) => `${ns}.authz.api-keys.revoked.${userId}`,
  (ns) => `${ns}.authz.api-keys.revoked.*`,
);
