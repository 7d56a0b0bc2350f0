import { isDeepStrictEqual } from "node:util";
import { randomBytes } from "node:crypto";
import type { CloudAuthzChanges, CloudAuthzInput, CloudAuthzTestResult, CloudAuthzView, ProviderCredentials, ProviderFailure } from "@skyferry/contracts";
import { invalidField, isSkyferryError, malformedId, missingField, type SkyferryError } from "@skyferry/errors";
import { type ClassifiedFailure, failureText } from "@skyferry/storage";
import { resolveDestination } from "@skyferry/outbound-policy";
import type { SecretBox } from "../crypto/secret-box.ts";
import type { Identities } from "../identities/identities-repo.ts";
import type { IdentityTokenSource } from "../oidc/identity-tokens.ts";
import type { CloudAuthzDoc, CloudAuthzRepo } from "./cloud-authz-repo.ts";
import { checkConfig } from "./config-check.ts";
import { authnNotFound, authzNotFound, duplicateAuthz } from "./errors.ts";
import type { Issued, ProviderModule, ProviderSettings } from "./provider.ts";
import type { ProviderRegistry } from "./providers/index.ts";
import { mask, openSecret, splitConfig } from "./secrets.ts";

const ID = /^[0-9a-f]{16}$/;
/** Config fields that say where secrets are sent: a change to any needs the secrets again. */
const DESTINATION_FIELDS = ["endpoint", "authority_host", "storage_account", "tenant_id"] as const;

const ownerOf = (doc: CloudAuthzDoc) => ({ userId: doc.user_id, authzId: doc._id });

/** Whether `raw` (an update's config) sends secrets somewhere other than the stored record did. */
function destinationChanged(doc: CloudAuthzDoc, provider: string, raw: Record<string, unknown>): boolean {
  if (provider !== doc.provider) return true;
  return DESTINATION_FIELDS.some((f) => !isDeepStrictEqual(raw[f], doc.config[f]));
}
/** Authorizations whose expiring credentials are kept for reuse (per process). */
const MAX_REUSABLE = 1000;
/** Provider codes that mean the credentials themselves are wrong (not the bucket, not a permission). */
const KEY_REFUSALS = new Set(["InvalidAccessKeyId", "SignatureDoesNotMatch", "AuthenticationFailed", "InvalidAuthenticationInfo", "ExpiredToken"]);

export interface CloudAuthzDeps {
  repo: CloudAuthzRepo;
  box: SecretBox;
  providers: ProviderRegistry;
  identities: Pick<Identities, "get">;
  idTokens: IdentityTokenSource;
  settings: ProviderSettings;
  now: () => Date;
}

export interface IssuedCredentials {
  authz_id: string;
  provider: CloudAuthzDoc["provider"];
  expires_at: string | null;
  credentials: ProviderCredentials;
}

/** Cloud authorizations: CRUD scoped to their owner, credential issuing and access checks. */
export function createCloudAuthz(deps: CloudAuthzDeps) {
  const { repo, box, providers, identities, idTokens, settings, now } = deps;

  const view = (doc: CloudAuthzDoc): CloudAuthzView => ({
    id: doc._id,
    model_class: "CloudAuthz",
    user_id: doc.user_id,
    provider: doc.provider,
    config: { ...doc.config, ...Object.fromEntries(Object.entries(doc.secrets).map(([k, s]) => [k, mask(s)])) },
    authn_id: doc.authn_id,
    description: doc.description,
    create_time: doc.create_time.toISOString(),
    last_update: doc.last_update.toISOString(),
    last_activity: doc.last_activity.toISOString(),
    status: doc.status,
    status_reason: doc.status_reason,
  });

  /** The full config, secrets opened. */
  const openConfig = (doc: CloudAuthzDoc): Record<string, unknown> => ({
    ...doc.config,
    ...Object.fromEntries(Object.entries(doc.secrets).map(([k, s]) => [k, openSecret(box, ownerOf(doc), k, s)])),
  });

  const owned = async (userId: string, id: string) => {
    if (!ID.test(id)) throw malformedId("authz_id", id);
    const doc = await repo.getOwned(id, userId);
    if (!doc) throw authzNotFound();
    return doc;
  };

  async function checkAuthn(userId: string, module: ProviderModule, authnId: string | null | undefined): Promise<string | null> {
    if (authnId === undefined || authnId === null) {
      if (module.authn === "required") {
        throw missingField("authn_id", `The following required arguments are missing in the payload: [authn_id] (provider '${module.name}' exchanges one of your identities' ID tokens; see GET /authnz/).`);
      }
      return null;
    }
    if (!ID.test(authnId)) throw malformedId("authn_id", authnId);
    const identity = await identities.get(authnId);
    if (!identity || identity.user_id !== userId) throw authnNotFound(authnId);
    return authnId;
  }

  /** The config checked by its schema and rules, and every destination it names by the outbound policy (400 naming the field). */
  async function checkedConfig(module: ProviderModule, raw: Record<string, unknown>): Promise<Record<string, unknown>> {
    const config = checkConfig(module.name, module.schema, raw) as Record<string, unknown>;
    module.refine?.(config);
    for (const d of module.destinations?.(config) ?? []) await resolveDestination(d.url, settings.outbound, d.field);
    return config;
  }

  /** Galaxy's rule, done right: same provider, same identity (or both none), and an equal config, secrets included. */
  async function rejectDuplicate(userId: string, provider: string, authnId: string | null, config: Record<string, unknown>, self?: string) {
    for (const doc of await repo.listByUser(userId)) {
      if (doc._id === self || doc.provider !== provider || doc.authn_id !== authnId) continue;
      if (isDeepStrictEqual(openConfig(doc), config)) throw duplicateAuthz(doc._id);
    }
  }

  const reusable = new Map<string, { version: number; issued: Issued; reuseUntil: number }>();
  const remember = (id: string, entry: { version: number; issued: Issued; reuseUntil: number }) => {
    reusable.delete(id);
    reusable.set(id, entry);
    // Bounded: the oldest entry goes first.
    if (reusable.size > MAX_REUSABLE) reusable.delete(reusable.keys().next().value!);
  };

  /** Obtains credentials and records the outcome on the authorization. */
  async function issueFor(doc: CloudAuthzDoc) {
    const module = providers.get(doc.provider);
    try {
      const issued = await module.issue(openConfig(doc), { userId: doc.user_id, authzId: doc._id, authnId: doc.authn_id, idTokens, settings });
      // Static keys are proven only by using them (`test`), not by handing them out.
      await repo.recordUse(doc._id, issued.verified ? { last_activity: now(), status: "ok", status_reason: null } : { last_activity: now() });
      return { module, issued };
    } catch (err) {
      if (isSkyferryError(err) && err.status === 401) {
        const status = err.code === "AUTHZ_NEEDS_REAUTH" ? "needs_reauth" : "refused";
        await repo.recordUse(doc._id, { last_activity: now(), status, status_reason: err.message });
      }
      throw err;
    }
  }

  return {
    async list(userId: string): Promise<CloudAuthzView[]> {
      return (await repo.listByUser(userId)).map(view);
    },

    async create(userId: string, input: CloudAuthzInput): Promise<CloudAuthzView> {
      const module = providers.get(input.provider);
      const authnId = await checkAuthn(userId, module, input.authn_id);
      const config = await checkedConfig(module, input.config);
      await rejectDuplicate(userId, module.name, authnId, config);
      const id = randomBytes(8).toString("hex");
      const { plain, secrets } = splitConfig(box, { userId, authzId: id }, config, module.secretFields);
      const time = now();
      const doc: CloudAuthzDoc = {
        _id: id,
        user_id: userId,
        provider: module.name,
        config: plain,
        secrets,
        authn_id: authnId,
        description: input.description ?? "",
        create_time: time,
        last_update: time,
        last_activity: time,
        status: "untested",
        status_reason: null,
      };
      await repo.insert(doc);
      return view(doc);
    },

    async get(userId: string, id: string): Promise<CloudAuthzView> {
      return view(await owned(userId, id));
    },

    async update(userId: string, id: string, changes: CloudAuthzChanges): Promise<CloudAuthzView> {
      const doc = await owned(userId, id);
      const module = providers.get(changes.provider ?? doc.provider);
      const authnId = await checkAuthn(userId, module, changes.authn_id === undefined ? doc.authn_id : changes.authn_id);
      let raw = openConfig(doc);
      if (changes.config !== undefined) {
        raw = { ...changes.config };
        // A secret sent back as its mask keeps the stored secret (clients echo what GET showed),
        // but only while the secret still goes where it went: a new destination (provider,
        // endpoint, authority host, account, tenant) needs every secret entered again, or a
        // changed endpoint would carry the stored secret to a host of the caller's choosing.
        const moved = destinationChanged(doc, module.name, raw);
        for (const [k, s] of Object.entries(doc.secrets)) {
          if (raw[k] !== mask(s)) continue;
          if (moved) throw invalidField(`config.${k}`, `Invalid config.${k}: the secret must be entered again when the endpoint changes (provider, endpoint, authority_host, storage_account or tenant_id).`);
          raw[k] = openSecret(box, ownerOf(doc), k, s);
        }
      }
      const config = await checkedConfig(module, raw);
      await rejectDuplicate(userId, module.name, authnId, config, doc._id);
      const { plain, secrets } = splitConfig(box, ownerOf(doc), config, module.secretFields);
      const updated = await repo.update(doc._id, userId, {
        provider: module.name,
        config: plain,
        secrets,
        authn_id: authnId,
        description: changes.description ?? doc.description,
        last_update: now(),
      });
      if (!updated) throw authzNotFound();
      return view(updated);
    },

    async remove(userId: string, id: string): Promise<CloudAuthzView> {
      if (!ID.test(id)) throw malformedId("authz_id", id);
      const doc = await repo.deleteOwned(id, userId);
      if (!doc) throw authzNotFound();
      return view(doc);
    },

    /**
     * Credential vending: 404 unless `userId` owns it; 401 with the provider's reason when refused.
     * Expiring credentials are reused while more than half their life remains (one STS or token
     * call per half-life, not per job); a transfer asks again when a quarter remains, so it then
     * gets fresh ones. An update of the authorization invalidates them.
     */
    async issue(userId: string, id: string): Promise<IssuedCredentials> {
      const doc = await owned(userId, id);
      const cached = reusable.get(doc._id);
      let issued = cached && cached.version === doc.last_update.getTime() && now().getTime() < cached.reuseUntil ? cached.issued : undefined;
      if (issued) {
        await repo.recordUse(doc._id, { last_activity: now() });
      } else {
        const issuedAt = now().getTime();
        issued = (await issueFor(doc)).issued;
        if (issued.expiresAt) remember(doc._id, { version: doc.last_update.getTime(), issued, reuseUntil: issuedAt + (issued.expiresAt.getTime() - issuedAt) / 2 });
      }
      return { authz_id: doc._id, provider: doc.provider, expires_at: issued.expiresAt?.toISOString() ?? null, credentials: issued.credentials };
    },

    describe: async (userId: string, id: string) => {
      const doc = await owned(userId, id);
      return { id: doc._id, user_id: doc.user_id, provider: doc.provider, description: doc.description };
    },

    /** Obtains credentials for real and checks access; a provider's refusal is `ok: false`, not an error. */
    async test(userId: string, id: string, bucket?: string): Promise<CloudAuthzTestResult> {
      const doc = await owned(userId, id);
      const base = { provider: doc.provider, ...(bucket !== undefined ? { bucket } : {}) };
      let got: Awaited<ReturnType<typeof issueFor>>;
      try {
        got = await issueFor(doc);
      } catch (err) {
        // Refusals (4xx) and an unreachable provider (503) are answers; anything else is a fault.
        if (!isSkyferryError(err) || (err.status >= 500 && err.status !== 503)) throw err;
        return { ...base, ok: false, checked: "credentials", ...answerOf(credentialFailure(err)) };
      }
      const expires_at = got.issued.expiresAt?.toISOString() ?? null;
      const check = await got.module.checkAccess(got.issued, bucket, settings);
      if (check.ok) {
        if (!got.issued.verified) await repo.recordUse(doc._id, { status: "ok", status_reason: null });
        return { ...base, ok: true, checked: check.checked, expires_at };
      }
      const f = check.failure;
      // Static keys are only proven by using them: a refusal at account level, or of the keys
      // themselves, marks the record (a bucket's own refusal does not).
      const keysRefused = f.failure === "invalid_credentials" || f.failure === "expired" || (f.provider_code !== undefined && KEY_REFUSALS.has(f.provider_code));
      if ((check.checked === "account" && f.provider_status !== undefined) || keysRefused) await repo.recordUse(doc._id, { status: "refused", status_reason: f.reason });
      return { ...base, ok: false, checked: check.checked, expires_at, ...answerOf(f) };
    },
  };
}

export type CloudAuthz = ReturnType<typeof createCloudAuthz>;

/** A `/test` answer's failure fields: the fixed vocabulary, its text, the provider's status and code. */
function answerOf(f: ClassifiedFailure): Pick<CloudAuthzTestResult, "code" | "reason" | "provider_status" | "provider_code"> {
  return { code: f.failure, reason: f.reason, ...(f.provider_status !== undefined ? { provider_status: f.provider_status } : {}), ...(f.provider_code ? { provider_code: f.provider_code } : {}) };
}

/** Issuing's refusals in the vocabulary; the provider's code is kept when the refusal names one (STS `<Code>`, Entra ID's AADSTS number, an OAuth error). */
function credentialFailure(err: SkyferryError): ClassifiedFailure {
  const providerCode = /^STS refused the web identity token: ([A-Za-z][A-Za-z0-9]{0,63})\b/.exec(err.message)?.[1] ?? /\b(AADSTS\d{1,10}|invalid_client|unauthorized_client|invalid_grant|invalid_scope|invalid_request)\b/.exec(err.message)?.[1];
  const failure: ProviderFailure =
    err.code === "OUTBOUND_REFUSED" ? "refused_address"
    : err.code === "AUTHZ_SAS_EXPIRED" ? "expired"
    : err.code === "AUTHZ_NEEDS_REAUTH" ? "needs_reauth"
    : err.status === 503 ? "unreachable"
    : err.status === 401 ? "credentials_refused"
    : "invalid_request";
  return { failure, reason: failureText(failure), ...(providerCode ? { provider_code: providerCode } : {}) };
}
