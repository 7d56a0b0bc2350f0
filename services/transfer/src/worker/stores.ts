import type { Actor, AuthzIssueCredentials, CloudProvider, RpcResponse } from "@skyferry/contracts";
import { SkyferryError } from "@skyferry/errors";
import type { OutboundPolicy } from "@skyferry/outbound-policy";
import type { ObjectStore } from "@skyferry/storage";

/** Credentials authz issued for one authorization (renewed by the adapters: storage/renewing.ts). */
export type IssuedCredentials = RpcResponse<typeof AuthzIssueCredentials>;

/**
 * Builds an adapter from the credentials just issued and a function that issues fresh ones
 * (called by the adapter again before each expiry, so a transfer outlives any one credential).
 */
export type StoreFactory = (first: IssuedCredentials, renew: () => Promise<IssuedCredentials>, renewBeforeMs: number) => ObjectStore | Promise<ObjectStore>;
/** What every adapter is built with, whoever's store it is. */
interface AdapterSettings {
  outbound: OutboundPolicy;
  /** A provider request that stalls this long fails (a timeout: transient). */
  requestTimeoutMs: number;
}
type AdapterFactory = (first: IssuedCredentials, renew: () => Promise<IssuedCredentials>, renewBeforeMs: number, settings: AdapterSettings) => Promise<ObjectStore>;

const FAR_FUTURE_MS = 365 * 24 * 3600 * 1000;

async function s3Store(first: IssuedCredentials, renew: () => Promise<IssuedCredentials>, renewBeforeMs: number, { outbound, requestTimeoutMs }: AdapterSettings): Promise<ObjectStore> {
  const c = first.credentials;
  if (c.kind !== "s3") throw new SkyferryError("XFER_CREDENTIALS_KIND", `Expected S3 credentials for provider '${first.provider}'.`, { status: 500 });
  const { createS3Store } = await import("@skyferry/storage-s3");
  let next: IssuedCredentials | undefined = first;
  return createS3Store({
    region: c.region,
    ...(c.endpoint ? { endpoint: c.endpoint } : {}),
    forcePathStyle: c.force_path_style,
    refreshMarginMs: renewBeforeMs,
    outbound,
    requestTimeoutMs,
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

async function azureStore(first: IssuedCredentials, renew: () => Promise<IssuedCredentials>, renewBeforeMs: number, { outbound, requestTimeoutMs }: AdapterSettings): Promise<ObjectStore> {
  const c = first.credentials;
  if (c.kind !== "azure") throw new SkyferryError("XFER_CREDENTIALS_KIND", "Expected Azure credentials.", { status: 500 });
  const { createAzureStore } = await import("@skyferry/storage-azure");
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
  return createAzureStore({ accountUrl: c.account_url, auth, refreshMarginMs: renewBeforeMs, outbound, tryTimeoutMs: requestTimeoutMs });
}

/**
 * The registered adapters, by provider; adding a provider is one line here. Each adapter module is
 * loaded on first use: a worker that only ever talks to S3 does not carry the Azure SDK (~25 MiB).
 */
const FACTORIES: Partial<Record<CloudProvider, AdapterFactory>> = {
  aws: s3Store,
  s3: s3Store,
  azure: azureStore,
};

/** The adapters, each connecting only to addresses `outbound` allows (checked per connection, after DNS). */
export function defaultStoreFactory(outbound: OutboundPolicy, o: { requestTimeoutMs?: number } = {}): StoreFactory {
  const settings: AdapterSettings = { outbound, requestTimeoutMs: o.requestTimeoutMs ?? 120_000 };
  return (first, renew, renewBeforeMs) => {
    const factory = FACTORIES[first.provider];
    if (!factory) throw new SkyferryError("XFER_PROVIDER_UNAVAILABLE", `No storage adapter for provider '${first.provider}'.`, { status: 501 });
    return factory(first, renew, renewBeforeMs, settings);
  };
}

/**
 * Whose store to open, and the proof authz issues its credentials against: a job's `grant` (a
 * worker, any time within the grant's life), or a request's signed `actor` (a planner or a
 * listing, within the request: such a store is never cached, its assertion soon expires).
 */
export interface StoreFor {
  user_id: string;
  authz_id: string;
  grant?: string | undefined;
  actor?: Actor | undefined;
}

/** Opens the store of one authorization for one user; `close()` on what it returns releases it. */
export interface StoreOpener {
  (job: StoreFor): Promise<ObjectStore>;
  /** Forgets the cached store of this user and authorization (e.g. after its credentials were refused). */
  forget(job: { user_id: string; authz_id: string }): void;
  /** Closes every cached store (service shutdown). */
  closeAll(): Promise<void>;
}

interface Entry {
  store: Promise<ObjectStore>;
  refs: number;
  expires: number;
  retired: boolean;
  idle?: NodeJS.Timeout;
}

/**
 * Opens the store of one authorization for one user; fails here (401 with the provider's reason)
 * rather than mid-upload. With `cacheMs` > 0 one store (its HTTP connections and its renewing
 * credentials) serves every job of the same user and authorization for up to `cacheMs`: a small
 * dataset then costs no credential RPC and no new connection. A store is closed when it has been
 * retired (aged out or forgotten) and its last job released it, or after `cacheMs` unused.
 */
export function createStoreOpener(options: {
  factory: StoreFactory;
  /** Issues credentials against a job grant or a request's signed actor (`authz.credentials.issue`). */
  issue: (proof: { grant: string } | { actor: Actor }, authzId: string) => Promise<IssuedCredentials>;
  renewBeforeMs: number;
  cacheMs?: number;
  now?: () => number;
}): StoreOpener {
  const now = options.now ?? Date.now;
  const cacheMs = options.cacheMs ?? 0;
  const entries = new Map<string, Entry>();
  const keyOf = (job: { user_id: string; authz_id: string }) => `${job.user_id}\u0000${job.authz_id}`;
  const create = async (job: StoreFor) => {
    if (!job.actor && !job.grant) throw new SkyferryError("XFER_GRANT_MISSING", "The job carries no grant for its authorization (planned before grants existed?); send it again.", { status: 403 });
    const proof = job.actor ? { actor: job.actor } : { grant: job.grant! };
    const renew = () => options.issue(proof, job.authz_id);
    return options.factory(await renew(), renew, options.renewBeforeMs);
  };
  const destroy = (e: Entry): Promise<void> => {
    if (e.idle) clearTimeout(e.idle);
    return e.store.then((s) => s.close(), () => undefined);
  };
  const retire = (key: string, e: Entry) => {
    if (entries.get(key) === e) entries.delete(key);
    e.retired = true;
    if (e.refs === 0) void destroy(e);
  };
  const open = async (job: StoreFor): Promise<ObjectStore> => {
    if (cacheMs <= 0 || job.actor) return create(job);
    const key = keyOf(job);
    let e = entries.get(key);
    if (e && now() >= e.expires) {
      retire(key, e);
      e = undefined;
    }
    if (!e) {
      const entry: Entry = { store: create(job), refs: 0, expires: now() + cacheMs, retired: false };
      entries.set(key, entry);
      // A failed open is not cached: the next job asks again (and gets the provider's reason).
      entry.store.catch(() => retire(key, entry));
      e = entry;
    }
    const entry = e;
    entry.refs++;
    if (entry.idle) clearTimeout(entry.idle);
    entry.idle = undefined;
    let store: ObjectStore;
    try {
      store = await entry.store;
    } catch (err) {
      entry.refs--;
      throw err;
    }
    let released = false;
    return {
      ...store,
      close: async () => {
        if (released) return;
        released = true;
        entry.refs--;
        if (entry.refs > 0) return;
        if (entry.retired) return destroy(entry);
        entry.idle = setTimeout(() => retire(key, entry), cacheMs);
        entry.idle.unref();
      },
    };
  };
  return Object.assign(open, {
    forget: (job: { user_id: string; authz_id: string }) => {
      const key = keyOf(job);
      const e = entries.get(key);
      if (e) retire(key, e);
    },
    closeAll: async () => {
      const all = [...entries.values()];
      entries.clear();
      for (const e of all) e.retired = true;
      await Promise.all(all.filter((e) => e.refs === 0).map(destroy));
    },
  });
}
