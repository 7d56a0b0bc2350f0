import { ClientSecretCredential, type ClientSecretCredentialOptions } from "@azure/identity";

type PipelinePolicy = NonNullable<ClientSecretCredentialOptions["additionalPolicies"]>[number]["policy"];
import { Type, type Static } from "@sinclair/typebox";
import { invalidField, missingField, SkyferryError, unavailable } from "@skyferry/errors";
import { checkAzureAccess } from "../access/azure-access.ts";
import { defineProvider, type ProviderSettings } from "../provider.ts";
import { guardedAgents, type OutboundPolicy } from "@skyferry/outbound-policy";

/**
 * Azure Blob Storage, with exactly one of: a service principal (`tenant_id`, `client_id`,
 * `client_secret`; a token from Microsoft Entra ID through @azure/identity), the account's
 * `account_key`, or a `sas`. `endpoint` (the blob endpoint) and `authority_host` serve sovereign
 * clouds and local servers (Azurite).
 */
export const AzureConfig = Type.Object(
  {
    storage_account: Type.String({ pattern: "^[a-z0-9]{3,24}$", description: "3-24 lowercase letters and digits" }),
    endpoint: Type.Optional(Type.String({ pattern: "^https?://[^\\s?#]+$", maxLength: 2048, description: "the blob endpoint URL, e.g. https://<account>.blob.core.windows.net" })),
    tenant_id: Type.Optional(Type.String({ pattern: "^[A-Za-z0-9.-]{1,256}$", description: "a tenant id (GUID) or domain" })),
    client_id: Type.Optional(Type.String({ pattern: "^[A-Za-z0-9-]{1,64}$", description: "an application (client) id" })),
    client_secret: Type.Optional(Type.String({ minLength: 1, maxLength: 1024, description: "a non-empty secret" })),
    authority_host: Type.Optional(Type.String({ pattern: "^https://[^\\s?#]+$", maxLength: 2048, description: "an https URL, e.g. https://login.microsoftonline.us" })),
    account_key: Type.Optional(Type.String({ pattern: "^[A-Za-z0-9+/=]{16,256}$", description: "the account key (base64)" })),
    sas: Type.Optional(Type.String({ pattern: "^\\??[^\\s?#]*sig=[^\\s?#]+$", maxLength: 8192, description: "a SAS query string containing sig=" })),
  },
  { additionalProperties: false },
);
type AzureConfig = Static<typeof AzureConfig>;

const STORAGE_SCOPE = "https://storage.azure.com/.default";
const OAUTH_REFUSAL = /\b(invalid_client|unauthorized_client|invalid_request|invalid_grant|invalid_scope|AADSTS\d+)/;
/** Microsoft's public and sovereign clouds, where instance discovery works. */
const KNOWN_AUTHORITIES = /^https:\/\/login\.(microsoftonline\.(com|us)|chinacloudapi\.cn|partner\.microsoftonline\.cn)\/?$/;

function refine(c: AzureConfig): void {
  const sp = (["tenant_id", "client_id", "client_secret"] as const).filter((k) => c[k] !== undefined);
  const forms = [sp.length > 0 ? "service principal" : null, c.account_key !== undefined ? "account_key" : null, c.sas !== undefined ? "sas" : null].filter(Boolean);
  if (forms.length === 0) {
    throw missingField("config.client_secret", "Missing config.client_secret: Azure needs one of: tenant_id, client_id and client_secret (a service principal); account_key; or sas.");
  }
  if (forms.length > 1) {
    const field = c.sas !== undefined ? "config.sas" : "config.account_key";
    throw invalidField(field, `Invalid ${field}: give only one of a service principal, account_key or sas (got ${forms.join(" and ")}).`);
  }
  if (sp.length > 0) {
    const absent = (["tenant_id", "client_id", "client_secret"] as const).find((k) => c[k] === undefined);
    if (absent) throw missingField(`config.${absent}`, `The following required arguments are missing in the payload: [config.${absent}] (an Azure service principal needs tenant_id, client_id and client_secret).`);
  } else if (c.authority_host !== undefined) {
    throw invalidField("config.authority_host", "Invalid config.authority_host: only a service principal uses it.");
  }
}

/** A core-rest-pipeline step giving each request an agent whose connections pass the outbound policy. */
function outboundAgentPolicy(policy: OutboundPolicy): PipelinePolicy {
  const agents = guardedAgents(policy);
  return {
    name: "skyferryOutboundPolicy",
    sendRequest: (request, next) => {
      request.agent = request.url.startsWith("https:") ? agents.https : agents.http;
      return next(request);
    },
  };
}

const accountUrl = (c: AzureConfig) => (c.endpoint ?? `https://${c.storage_account}.blob.core.windows.net`).replace(/\/+$/, "");

/** When a SAS stops working (its `se`), or null when it names none. */
function sasExpiry(sas: string): Date | null {
  const se = new URLSearchParams(sas.replace(/^\?/, "")).get("se");
  const t = se ? Date.parse(se) : Number.NaN;
  return Number.isNaN(t) ? null : new Date(t);
}

async function servicePrincipalToken(c: AzureConfig, settings: ProviderSettings): Promise<{ token: string; expiresAt: Date }> {
  const custom = c.authority_host !== undefined && !KNOWN_AUTHORITIES.test(c.authority_host);
  const credential = new ClientSecretCredential(c.tenant_id!, c.client_id!, c.client_secret!, {
    ...(c.authority_host ? { authorityHost: c.authority_host } : {}),
    // Instance discovery asks login.microsoftonline.com about the authority: only for Microsoft's hosts.
    disableInstanceDiscovery: custom,
    retryOptions: { maxRetries: 1 },
    // Every connection to the authority (a user-supplied URL) passes the outbound policy first.
    additionalPolicies: [{ policy: outboundAgentPolicy(settings.outbound), position: "perCall" }],
  });
  try {
    const t = await credential.getToken(STORAGE_SCOPE, { abortSignal: AbortSignal.timeout(settings.timeoutMs) });
    return { token: t.token, expiresAt: new Date(t.expiresOnTimestamp) };
  } catch (err) {
    const e = err as { name?: string; statusCode?: number; message?: string };
    const message = (e.message ?? "unknown error").split("\n")[0]!;
    // MSAL folds Entra ID's answer into one line: keep its Description (AADSTS code and text).
    const reason = (/Description: (.*?)(?: - Correlation ID| - Timestamp|$)/.exec(message)?.[1] ?? message).slice(0, 500);
    // A refusal is an OAuth error from the token endpoint (AADSTS…, invalid_client, ...); MSAL
    // reports network failures through the same error class, so the answer's content decides.
    const refusedByEndpoint = (e.name === "AuthenticationError" && (e.statusCode ?? 0) >= 400 && (e.statusCode ?? 0) < 500) || OAUTH_REFUSAL.test(message);
    if (refusedByEndpoint) {
      throw new SkyferryError("AUTHZ_AZURE_REFUSED", `Microsoft Entra ID refused the service principal: ${reason}`, { status: 401, errCode: 401001 });
    }
    throw unavailable("AUTHZ_AZURE_UNAVAILABLE", `The Azure token endpoint could not be reached or failed: ${reason}`);
  }
}

export const azureProvider = defineProvider({
  name: "azure",
  schema: AzureConfig,
  secretFields: ["client_secret", "account_key", "sas"],
  authn: "optional",
  refine,
  destinations: (c) => [
    { field: "config.endpoint", url: accountUrl(c) },
    ...(c.authority_host !== undefined ? [{ field: "config.authority_host", url: c.authority_host }] : []),
  ],
  async issue(c, ctx) {
    const base = { kind: "azure" as const, account_url: accountUrl(c), account: c.storage_account };
    if (c.account_key !== undefined) return { credentials: { ...base, auth: { type: "shared_key", account_key: c.account_key } }, expiresAt: null, verified: false };
    if (c.sas !== undefined) {
      const expiresAt = sasExpiry(c.sas);
      if (expiresAt && expiresAt.getTime() <= Date.now()) {
        throw new SkyferryError("AUTHZ_SAS_EXPIRED", `The SAS expired at ${expiresAt.toISOString()}; update the authorization with a new one.`, { status: 401, errCode: 401001 });
      }
      return { credentials: { ...base, auth: { type: "sas", sas: c.sas.replace(/^\?/, "") } }, expiresAt, verified: false };
    }
    const t = await servicePrincipalToken(c, ctx.settings);
    return { credentials: { ...base, auth: { type: "bearer", token: t.token } }, expiresAt: t.expiresAt, verified: true };
  },
  async checkAccess(issued, bucket, settings) {
    const c = issued.credentials;
    if (c.kind !== "azure") throw new Error("azure provider issued non-Azure credentials");
    // A token from Entra ID, or a SAS scoped to a container, proves nothing more at account level.
    const accountLevel = c.auth.type === "shared_key" || (c.auth.type === "sas" && new URLSearchParams(c.auth.sas).has("ss"));
    if (bucket === undefined && !accountLevel) return { ok: true, checked: "credentials" };
    return checkAzureAccess(c, bucket, settings);
  },
});
