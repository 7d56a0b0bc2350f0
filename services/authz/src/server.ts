import { startService } from "@skyferry/service-kit";
import { authzApp } from "./app.ts";
import { loadAuthzConfig } from "./config.ts";

const config = loadAuthzConfig();
const { deps } = await startService({ name: "authz", config, plugin: authzApp, useMongo: true });
if (config.SKYFERRY_OIDC_DEV_INSECURE_ISSUERS) {
  deps.logger.warn(
    { insecure_issuers: config.SKYFERRY_OIDC_PROVIDERS.filter((p) => p.allow_insecure_http && p.issuer.startsWith("http:")).map((p) => p.issuer) },
    "SKYFERRY_OIDC_DEV_INSECURE_ISSUERS is on: sign-in may talk to plain-http OpenID Connect issuers (development only; never in production)",
  );
}
