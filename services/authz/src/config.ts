import { type Static, Type } from "@sinclair/typebox";
import { ConfigError, loadConfig } from "@skyferry/config";
import { ActorVerifyConfig } from "@skyferry/actor";
import { BaseConfig } from "@skyferry/service-kit";
import { OutboundConfig } from "@skyferry/outbound-policy";

/** One OpenID Connect provider users can sign in with. */
export const OidcProviderConfig = Type.Object(
  {
    /** Appears in `/authnz/{name}/login`; lowercase letters, digits, `-` and `_`. */
    name: Type.String({ pattern: "^[a-z0-9][a-z0-9_-]{0,62}$" }),
    /** Issuer URL; its `/.well-known/openid-configuration` is discovered. */
    issuer: Type.String({ pattern: "^https?://" }),
    client_id: Type.String({ minLength: 1 }),
    client_secret: Type.String({ minLength: 1 }),
    /** Space-separated scopes; default `openid email profile`. */
    scopes: Type.Optional(Type.String()),
    /** Extra authorization request parameters (e.g. `access_type`, `prompt`). */
    params: Type.Optional(Type.Record(Type.String(), Type.String())),
    /** `google`: scopes `openid email profile`, `access_type=offline`, `prompt=consent`. */
    preset: Type.Optional(Type.Literal("google")),
    /**
     * Allow plain-http requests to the issuer. Only honoured for a loopback issuer
     * (http://127.0.0.1 or http://localhost), i.e. a local test provider, or for any issuer with
     * SKYFERRY_OIDC_DEV_INSECURE_ISSUERS; never on by default.
     */
    allow_insecure_http: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type OidcProviderConfig = Static<typeof OidcProviderConfig>;

/** The authz service's settings, each read from the environment variable of the same name. */
export const AuthzConfig = Type.Object({
  ...BaseConfig,
  ...ActorVerifyConfig,
  ...OutboundConfig,
  /** HTTP port for /healthz and /readyz. */
  PORT: Type.Integer({ default: 8081, minimum: 0, maximum: 65535 }),
  /** JSON array of OpenID Connect providers (see `OidcProviderConfig`). */
  SKYFERRY_OIDC_PROVIDERS: Type.Array(OidcProviderConfig, { default: [] }),
  /**
   * Development only: `allow_insecure_http` is honoured for a non-loopback plain-http issuer too
   * (e.g. http://oidc:18090 in Docker Compose, where the provider is another container). Refused
   * with NODE_ENV=production; a warning is logged at start while it is on.
   */
  SKYFERRY_OIDC_DEV_INSECURE_ISSUERS: Type.Boolean({ default: false }),
  /** Read only to refuse SKYFERRY_OIDC_DEV_INSECURE_ISSUERS in production; nothing else depends on it. */
  NODE_ENV: Type.String({ default: "" }),
  /**
   * Encryption keys for secrets at rest: JSON object key id -> 32-byte key (base64 or hex).
   * Required; there is no default. Old key ids stay listed so values sealed with them still open.
   */
  SKYFERRY_ENCRYPTION_KEYS: Type.Record(Type.String({ pattern: "^[A-Za-z0-9_.-]{1,64}$" }), Type.String({ minLength: 1 }), { minProperties: 1 }),
  /** The key id new values are sealed with; must be one of SKYFERRY_ENCRYPTION_KEYS. */
  SKYFERRY_ENCRYPTION_KEY_ID: Type.String({ minLength: 1 }),
  /** How long a browser session lasts, in seconds (default 7 days). */
  SKYFERRY_SESSION_TTL_SECONDS: Type.Integer({ default: 7 * 24 * 3600, minimum: 60 }),
  /** How long a started sign-in may take before its state expires, in seconds. */
  SKYFERRY_LOGIN_STATE_TTL_SECONDS: Type.Integer({ default: 600, minimum: 30, maximum: 3600 }),
  /**
   * STS endpoint for `aws` cloud authorizations (AssumeRoleWithWebIdentity); unset = AWS's own,
   * by region. Set it for an S3 store with STS such as Ceph radosgw. Deliberately not a
   * per-authorization setting: the ID token sent there must only go to a trusted STS.
   */
  SKYFERRY_AWS_STS_ENDPOINT: Type.Optional(Type.String({ pattern: "^https?://" })),
  /** S3 endpoint handed out with `aws` credentials (path-style); unset = AWS S3. */
  SKYFERRY_AWS_S3_ENDPOINT: Type.Optional(Type.String({ pattern: "^https?://" })),
  /**
   * Upper bound on the life of `aws` credentials, in seconds: STS is asked for the smaller of this
   * and the authorization's `token_ttl`. Unset: `token_ttl`. AWS refuses less than 900; Ceph radosgw
   * accepts down to its `rgw sts min session duration` (1 s on the test stack, so tests can watch
   * credentials expire during a transfer).
   */
  SKYFERRY_AWS_MAX_SESSION_SECONDS: Type.Optional(Type.Integer({ minimum: 1, maximum: 43200 })),
  /**
   * Failed authentications (API key or session) per client address, and per credential, in a
   * window, before further failures answer 429. Counted in MongoDB, so every gateway replica and
   * authz instance agrees. Valid credentials are never refused by it.
   */
  SKYFERRY_AUTH_FAILURE_LIMIT: Type.Integer({ default: 20, minimum: 1 }),
  /** The window for SKYFERRY_AUTH_FAILURE_LIMIT, in ms. */
  SKYFERRY_AUTH_FAILURE_WINDOW_MS: Type.Integer({ default: 60_000, minimum: 1000 }),
  /** Bound on each call to a cloud provider (token endpoint, STS, storage check), in ms. */
  SKYFERRY_CLOUD_TIMEOUT_MS: Type.Integer({ default: 15_000, minimum: 1000, maximum: 120_000 }),
});
export type AuthzConfig = Static<typeof AuthzConfig>;

/** Loads the authz config (`server.ts`): refuses SKYFERRY_OIDC_DEV_INSECURE_ISSUERS when NODE_ENV=production. */
export function loadAuthzConfig(env: NodeJS.ProcessEnv = process.env): Readonly<AuthzConfig> {
  const config = loadConfig(AuthzConfig, env);
  if (config.SKYFERRY_OIDC_DEV_INSECURE_ISSUERS && config.NODE_ENV === "production") {
    throw new ConfigError([
      "SKYFERRY_OIDC_DEV_INSECURE_ISSUERS: plain-http OpenID Connect issuers are for development only and refused with NODE_ENV=production (use an https issuer)",
    ]);
  }
  return config;
}
