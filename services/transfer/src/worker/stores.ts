import type { Actor, CloudProvider } from "@skyferry/contracts";
import { SkyferryError } from "@skyferry/errors";
import type { ObjectStore } from "@skyferry/storage";
import { createAzureStore } from "@skyferry/storage-azure";
import { createS3Store } from "@skyferry/storage-s3";
import type { IssuedCredentials } from "./credentials.ts";

/**
 * Builds an adapter from the credentials just issued and a function that issues fresh ones
 * (called by the adapter again before each expiry, so a transfer outlives any one credential).
 */
export type StoreFactory = (first: IssuedCredentials, renew: () => Promise<IssuedCredentials>, renewBeforeMs: number) => ObjectStore;

const FAR_FUTURE_MS = 365 * 24 * 3600 * 1000;

function s3Store(first: IssuedCredentials, renew: () => Promise<IssuedCredentials>, renewBeforeMs: number): ObjectStore {
  const c = first.credentials;
  if (c.kind !== "s3") throw new SkyferryError("XFER_CREDENTIALS_KIND", `Expected S3 credentials for provider '${first.provider}'.`, { status: 500 });
  let next: IssuedCredentials | undefined = first;
  return createS3Store({
    region: c.region,
    ...(c.endpoint ? { endpoint: c.endpoint } : {}),
    forcePathStyle: c.force_path_style,
    refreshMarginMs: renewBeforeMs,
    credentials: async () => {
      const issued = next ?? (await renew());
      next = undefined;
      if (issued.credentials.kind !== "s3") throw new SkyferryError("XFER_CREDENTIALS_KIND", "Expected S3 credentials.", { status: 500 });
      const { access_key_id, secret_access_key, session_token } = issued.credentials;
      return {
        credentials: { accessKeyId: access_key_id, secretAccessKey: secret_access_key, ...(session_token ? { sessionToken: session_token } : {}) },
        expiresAt: issued.expires_at ? Date.parse(issued.expires_at) : Date.now() + FAR_FUTURE_MS,
      };
    },
  });
}

function azureStore(first: IssuedCredentials, renew: () => Promise<IssuedCredentials>, renewBeforeMs: number): ObjectStore {
  const c = first.credentials;
  if (c.kind !== "azure") throw new SkyferryError("XFER_CREDENTIALS_KIND", "Expected Azure credentials.", { status: 500 });
  let next: IssuedCredentials | undefined = first;
  const expiresAt = (i: IssuedCredentials) => (i.expires_at ? Date.parse(i.expires_at) : Date.now() + FAR_FUTURE_MS);
  // A SAS or token is asked for again before it expires; a shared key does not expire.
  const fresh = async () => {
    const issued = next ?? (await renew());
    next = undefined;
    if (issued.credentials.kind !== "azure") throw new SkyferryError("XFER_CREDENTIALS_KIND", "Expected Azure credentials.", { status: 500 });
    return { auth: issued.credentials.auth, expiresAt: expiresAt(issued) };
  };
  const auth = c.auth.type === "shared_key"
    ? { kind: "shared_key" as const, accountName: c.account, accountKey: c.auth.account_key }
    : c.auth.type === "sas"
      ? { kind: "sas" as const, sas: async () => { const f = await fresh(); return { sas: f.auth.type === "sas" ? f.auth.sas : "", expiresAt: f.expiresAt }; } }
      : { kind: "bearer" as const, token: async () => { const f = await fresh(); return { token: f.auth.type === "bearer" ? f.auth.token : "", expiresAt: f.expiresAt }; } };
  return createAzureStore({ accountUrl: c.account_url, auth, refreshMarginMs: renewBeforeMs });
}

/** The registered adapters, by provider; adding a provider is one line here. */
const FACTORIES: Partial<Record<CloudProvider, StoreFactory>> = {
  aws: s3Store,
  s3: s3Store,
  azure: azureStore,
};

export function defaultStoreFactory(): StoreFactory {
  return (first, renew, renewBeforeMs) => {
    const factory = FACTORIES[first.provider];
    if (!factory) throw new SkyferryError("XFER_PROVIDER_UNAVAILABLE", `No storage adapter for provider '${first.provider}'.`, { status: 501 });
    return factory(first, renew, renewBeforeMs);
  };
}

/** Opens the store of one authorization for one user; fails here (401 with the provider's reason) rather than mid-upload. */
export function createStoreOpener(options: {
  factory: StoreFactory;
  issue: (actor: Actor, authzId: string) => Promise<IssuedCredentials>;
  renewBeforeMs: number;
}) {
  return async (job: { user_id: string; authz_id: string }): Promise<ObjectStore> => {
    const renew = () => options.issue({ user_id: job.user_id }, job.authz_id);
    return options.factory(await renew(), renew, options.renewBeforeMs);
  };
}
