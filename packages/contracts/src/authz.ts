import { type Static, Type } from "@sinclair/typebox";
import { defineEvent, defineRpc } from "./define.ts";
import { Actor, Id, Timestamp } from "./envelope.ts";

// Contracts of the authz service. The authz service owns users, identities, sessions, API keys and
// cloud authorizations; it is the only service that turns an authorization into cloud credentials.

/** The cloud providers an authorization can be for. */
export const CloudProvider = Type.Union([Type.Literal("aws"), Type.Literal("azure"), Type.Literal("s3")]);
export type CloudProvider = Static<typeof CloudProvider>;

/** SHA-256 of a secret (API key, session id), lowercase hex: what crosses the bus instead of the secret. */
export const Sha256Hex = Type.String({ pattern: "^[0-9a-f]{64}$" });

/**
 * Who is calling: resolved by the gateway from `?key=`, `x-api-key`, or the session cookie. The
 * key or session id is sent as its SHA-256 (authz stores only that hash), never in clear.
 */
export const AuthzResolveActor = defineRpc(
  "authz.actor.resolve",
  1,
  Type.Object(
    {
      api_key_sha256: Type.Optional(Sha256Hex),
      session_id_sha256: Type.Optional(Sha256Hex),
      /**
       * The client's address as the gateway determined it (X-Forwarded-For believed from trusted
       * proxies only): failed attempts are counted per client address and per credential.
       */
      client: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
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
 * Long transfers ask again before `expires_at`. Either `actor` (a request's signed actor) or
 * `grant` (the job grant authz issued when the job was planned, stored on the job: a worker's
 * calls for a job outlive any assertion); the grant must be for `authz_id`, unexpired, and the
 * authorization must still be its user's.
 */
export const AuthzIssueCredentials = defineRpc(
  "authz.credentials.issue",
  1,
  Type.Object({ actor: Type.Optional(Actor), grant: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })), authz_id: Id }, { additionalProperties: false }),
  Type.Object({
    authz_id: Id,
    provider: CloudProvider,
    /** When these credentials stop working; null for long-lived keys. */
    expires_at: Type.Union([Timestamp, Type.Null()]),
    credentials: ProviderCredentials,
  }),
);

/**
 * An authorization's non-secret summary; 404 unless the actor owns it. With `with_grant`, also a
 * job grant for it (the send and get planners: one per request, stored on each of its jobs).
 */
export const AuthzDescribe = defineRpc(
  "authz.authorization.describe",
  1,
  Type.Object({ actor: Actor, authz_id: Id, with_grant: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
  Type.Object({
    id: Id,
    user_id: Id,
    provider: CloudProvider,
    description: Type.String(),
    /** A token authz signed over `{user_id, authz_id, exp}` (30 days): credentials for the job's worker. */
    grant: Type.Optional(Type.String()),
  }),
);

// ---- Users, identities, sessions and API keys (sign-in with OpenID Connect) ----

/** A configured OpenID Connect provider's name, as it appears in `/authnz/{provider}/…`. */
export const ProviderName = Type.String({ pattern: "^[a-z0-9][a-z0-9_-]{0,62}$" });

/** The configured sign-in providers, names only (the console's sign-in page, `GET /authnz/providers`). */
export const AuthzProvidersList = defineRpc(
  "authz.providers.list",
  1,
  Type.Object({}, { additionalProperties: false }),
  Type.Object({ providers: Type.Array(Type.Object({ name: ProviderName })) }),
);

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
  Type.Object({ session_id_sha256: Sha256Hex }, { additionalProperties: false }),
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

// ---- Cloud authorizations (`/api/cloud/authz`): Galaxy's CloudAuthz records, secrets masked ----

/**
 * What the last use of an authorization showed: `untested` until credentials were first issued,
 * `ok`, `needs_reauth` (the identity's sign-in expired and could not be renewed), or `refused`
 * (the provider refused; `status_reason` says why).
 */
export const CloudAuthzStatus = Type.Union([Type.Literal("untested"), Type.Literal("ok"), Type.Literal("needs_reauth"), Type.Literal("refused")]);
export type CloudAuthzStatus = Static<typeof CloudAuthzStatus>;

/** A cloud authorization as the API shows it (Galaxy's fields; secrets in `config` are masked). */
export const CloudAuthzView = Type.Object({
  id: Id,
  model_class: Type.Literal("CloudAuthz"),
  user_id: Id,
  provider: CloudProvider,
  /** The provider's settings; secret fields appear masked (`****` and their last 4 characters). */
  config: Type.Record(Type.String(), Type.Unknown()),
  /** The identity (`GET /authnz/`) whose ID token is exchanged; required for `aws`. */
  authn_id: Type.Union([Id, Type.Null()]),
  description: Type.String(),
  create_time: Timestamp,
  last_update: Timestamp,
  /** When credentials were last issued (or the record was created). */
  last_activity: Timestamp,
  status: CloudAuthzStatus,
  status_reason: Type.Union([Type.String(), Type.Null()]),
});
export type CloudAuthzView = Static<typeof CloudAuthzView>;

/**
 * A new authorization. `provider` and `config` are checked by the authz service's provider module
 * (400007 / 400008 naming e.g. `config.role_arn`); ids are checked there too (400009).
 */
export const CloudAuthzInput = Type.Object(
  {
    provider: Type.String({ minLength: 1, maxLength: 64 }),
    config: Type.Record(Type.String(), Type.Unknown()),
    authn_id: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Null()])),
    description: Type.Optional(Type.String({ maxLength: 4096 })),
  },
  { additionalProperties: false },
);
export type CloudAuthzInput = Static<typeof CloudAuthzInput>;

/**
 * Changes to an authorization: the fields given replace the stored ones. In `config`, a secret
 * field sent back exactly as its masked value keeps the stored secret.
 */
export const CloudAuthzChanges = Type.Partial(CloudAuthzInput, { additionalProperties: false });
export type CloudAuthzChanges = Static<typeof CloudAuthzChanges>;

/** `POST /api/cloud/authz/{id}/test`: 200 either way; `ok: false` carries the provider's reason. */
/**
 * The fixed vocabulary of provider failures, for `/test` answers and job errors (issue 19): what
 * went wrong in our words, beside the provider's HTTP status and error code, never the provider's
 * body or our own exception text.
 */
export const ProviderFailure = [
  "access_denied",
  "invalid_credentials",
  "credentials_refused",
  "expired",
  "needs_reauth",
  "no_such_bucket",
  "not_found",
  "already_exists",
  "invalid_request",
  "integrity",
  "throttled",
  "unreachable",
  "timeout",
  "tls_error",
  "refused_address",
  "provider_error",
] as const;
export type ProviderFailure = (typeof ProviderFailure)[number];
export const ProviderFailureSchema = Type.Union(ProviderFailure.map((k) => Type.Literal(k)));

export const CloudAuthzTestResult = Type.Object({
  ok: Type.Boolean(),
  provider: CloudProvider,
  /** What was checked: credentials issued only, an account-level call, or access to `bucket`. */
  checked: Type.Union([Type.Literal("credentials"), Type.Literal("account"), Type.Literal("bucket")]),
  bucket: Type.Optional(Type.String()),
  /** When the credentials obtained expire; null for long-lived keys. */
  expires_at: Type.Optional(Type.Union([Timestamp, Type.Null()])),
  /** What failed, in our words (fixed text per `code`), when `ok` is false. */
  reason: Type.Optional(Type.String()),
  /** What failed, from the fixed vocabulary (`ProviderFailure`), when `ok` is false. */
  code: Type.Optional(ProviderFailureSchema),
  /** The provider's HTTP status, when it answered. */
  provider_status: Type.Optional(Type.Integer()),
  /** The provider's error code (e.g. `NoSuchBucket`, `AuthorizationFailure`, `AADSTS7000215`), when it gave one. */
  provider_code: Type.Optional(Type.String()),
});
export type CloudAuthzTestResult = Static<typeof CloudAuthzTestResult>;

const AuthzRef = Type.Object({ actor: Actor, authz_id: Id }, { additionalProperties: false });

export const AuthzCloudList = defineRpc("authz.cloud.list", 1, Type.Object({ actor: Actor }, { additionalProperties: false }), Type.Array(CloudAuthzView));
export const AuthzCloudCreate = defineRpc(
  "authz.cloud.create",
  1,
  Type.Object({ actor: Actor, input: CloudAuthzInput }, { additionalProperties: false }),
  CloudAuthzView,
);
/** 404 unless the actor owns it. */
export const AuthzCloudGet = defineRpc("authz.cloud.get", 1, AuthzRef, CloudAuthzView);
export const AuthzCloudUpdate = defineRpc(
  "authz.cloud.update",
  1,
  Type.Object({ actor: Actor, authz_id: Id, changes: CloudAuthzChanges }, { additionalProperties: false }),
  CloudAuthzView,
);
/** Hard delete (as Galaxy); answers the deleted record. */
export const AuthzCloudDelete = defineRpc("authz.cloud.delete", 1, AuthzRef, CloudAuthzView);
/** Obtains credentials for real and checks access (to `bucket` when given). */
export const AuthzCloudTest = defineRpc(
  "authz.cloud.test",
  1,
  Type.Object({ actor: Actor, authz_id: Id, bucket: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })) }, { additionalProperties: false }),
  CloudAuthzTestResult,
);
