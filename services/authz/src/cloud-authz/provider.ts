import type { Static, TObject } from "@sinclair/typebox";
import type { CloudProvider, ProviderCredentials } from "@skyferry/contracts";
import type { OutboundPolicy } from "@skyferry/outbound-policy";
import type { ClassifiedFailure } from "@skyferry/storage";
import type { IdentityTokenSource } from "../oidc/identity-tokens.ts";

/** Service-wide settings the provider modules read (services/authz/src/config.ts). */
export interface ProviderSettings {
  /** STS endpoint for `aws` (default: AWS's regional endpoint); e.g. a Ceph radosgw with STS. */
  awsStsEndpoint?: string;
  /** S3 endpoint handed out with `aws` credentials (default: AWS); path-style when set. */
  awsS3Endpoint?: string;
  /** Cap on the STS session length of `aws` credentials (SKYFERRY_AWS_MAX_SESSION_SECONDS); default each authorization's token_ttl. */
  awsMaxSessionSeconds?: number;
  /** Bound on each call to a provider (token endpoint, STS, storage). */
  timeoutMs: number;
  /** Where user-supplied destinations (endpoints, authority hosts) may connect (SKYFERRY_OUTBOUND_ALLOW). */
  outbound: OutboundPolicy;
}

/** What issuing credentials needs besides the authorization's own config. */
export interface IssueContext {
  userId: string;
  authzId: string;
  authnId: string | null;
  idTokens: IdentityTokenSource;
  settings: ProviderSettings;
}

export interface Issued {
  credentials: ProviderCredentials;
  /** When the credentials stop working; null for long-lived keys. */
  expiresAt: Date | null;
  /** Whether the provider confirmed them while issuing (STS, a token endpoint); static keys are not. */
  verified: boolean;
}

/** An access check's outcome: `ok: false` carries the failure in the fixed vocabulary, with the provider's status and code. */
export type AccessCheck =
  | { ok: true; checked: "credentials" | "account" | "bucket" }
  | { ok: false; checked: "credentials" | "account" | "bucket"; failure: ClassifiedFailure };

/**
 * One cloud provider: its config schema, which fields are secret, and how an authorization
 * becomes credentials. Adding a provider is one module implementing this and one line in
 * `providers/index.ts`.
 */
export interface ProviderModule<S extends TObject = TObject> {
  readonly name: CloudProvider;
  /** TypeBox schema of `config` (defaults are applied; unknown keys are refused). */
  readonly schema: S;
  /** Config fields sealed at rest and masked in every response. */
  readonly secretFields: readonly string[];
  /** Whether `authn_id` (one of the user's identities) is required. */
  readonly authn: "required" | "optional";
  /** The user-supplied URLs this config connects to, by config field: each must pass the outbound policy. */
  destinations?(config: Static<S>): Array<{ field: string; url: string }>;
  /** Rules the schema cannot express (e.g. exactly one of several forms); throws 400 naming the field. */
  refine?(config: Static<S>): void;
  /**
   * Obtains credentials now.
   * @throws SkyferryError 401 with the provider's reason when it refuses; AUTHZ_NEEDS_REAUTH (401)
   *   when an identity's sign-in cannot be renewed; 503 (retryable) when the provider is unreachable.
   */
  issue(config: Static<S>, ctx: IssueContext): Promise<Issued>;
  /** Checks the credentials reach `bucket` (or the account when no bucket is given). Never throws for a refusal. */
  checkAccess(issued: Issued, bucket: string | undefined, settings: ProviderSettings): Promise<AccessCheck>;
}

/** Erases a module's config type so modules fit in one registry. */
export function defineProvider<S extends TObject>(module: ProviderModule<S>): ProviderModule {
  return module as unknown as ProviderModule;
}
