import * as client from "openid-client";
import type { OidcProviderConfig } from "../config.ts";
import { providerUnavailable, providerUnknown } from "../errors.ts";

/** A configured provider with its preset applied. */
export interface ProviderSettings {
  name: string;
  issuer: string;
  clientId: string;
  scopes: string;
  params: Record<string, string>;
  insecureHttp: boolean;
}

export interface OidcProviders {
  names(): string[];
  settings(name: string): ProviderSettings;
  /** The provider's discovered configuration (cached; a failed discovery is retried next time). */
  configuration(name: string): Promise<client.Configuration>;
}

const GOOGLE = { scopes: "openid email profile", params: { access_type: "offline", prompt: "consent" } };
const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

export interface ResolveOptions {
  /**
   * SKYFERRY_OIDC_DEV_INSECURE_ISSUERS: `allow_insecure_http` is honoured for any plain-http issuer
   * (e.g. http://oidc:18090 inside Docker Compose), not only a loopback one.
   */
  devInsecureIssuers?: boolean;
}

/** Applies presets and checks plain-http use; throws at start-up on a misconfiguration. */
export function resolveProvider(p: OidcProviderConfig, options: ResolveOptions = {}): ProviderSettings {
  const url = new URL(p.issuer);
  if (url.protocol === "http:" && !(p.allow_insecure_http && (LOOPBACK.has(url.hostname) || options.devInsecureIssuers === true))) {
    throw new Error(
      p.allow_insecure_http
        ? `OIDC provider '${p.name}': plain-http issuer ${url.origin} is not loopback (127.0.0.1 or localhost); allow_insecure_http is honoured for it only with SKYFERRY_OIDC_DEV_INSECURE_ISSUERS=true (development only)`
        : `OIDC provider '${p.name}': plain-http issuer ${url.origin} needs allow_insecure_http, which is only honoured for a loopback issuer (127.0.0.1 or localhost), or any issuer with SKYFERRY_OIDC_DEV_INSECURE_ISSUERS=true (development only)`,
    );
  }
  const preset = p.preset === "google" ? GOOGLE : { scopes: "openid email profile", params: {} };
  return {
    name: p.name,
    issuer: p.issuer,
    clientId: p.client_id,
    scopes: p.scopes ?? preset.scopes,
    params: { ...preset.params, ...p.params },
    insecureHttp: url.protocol === "http:",
  };
}

export function createOidcProviders(list: readonly OidcProviderConfig[], options: { timeoutSeconds?: number } & ResolveOptions = {}): OidcProviders {
  const resolve: ResolveOptions = { devInsecureIssuers: options.devInsecureIssuers === true };
  const byName = new Map<string, { settings: ProviderSettings; secret: string }>();
  for (const p of list) {
    if (byName.has(p.name)) throw new Error(`OIDC provider '${p.name}' is configured twice`);
    byName.set(p.name, { settings: resolveProvider(p, resolve), secret: p.client_secret });
  }
  const discovered = new Map<string, Promise<client.Configuration>>();
  const entry = (name: string) => {
    const e = byName.get(name);
    if (!e) throw providerUnknown(name);
    return e;
  };
  const discover = async (name: string): Promise<client.Configuration> => {
    const { settings, secret } = entry(name);
    try {
      const config = await client.discovery(new URL(settings.issuer), settings.clientId, secret, client.ClientSecretPost(secret), {
        execute: settings.insecureHttp ? [client.allowInsecureRequests] : [],
        timeout: options.timeoutSeconds ?? 10,
      });
      // Verify ID token signatures against the provider's JWKS even though they arrive from the
      // token endpoint directly (OIDC allows skipping that; we do not).
      client.enableNonRepudiationChecks(config);
      return config;
    } catch (err) {
      throw providerUnavailable(name, err);
    }
  };
  return {
    names: () => [...byName.keys()],
    settings: (name) => entry(name).settings,
    configuration(name) {
      entry(name);
      let p = discovered.get(name);
      if (!p) {
        p = discover(name);
        discovered.set(name, p);
        p.catch(() => discovered.delete(name));
      }
      return p;
    },
  };
}
