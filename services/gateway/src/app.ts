import cookie from "@fastify/cookie";
import { loadActorSigner, loadActorVerifier } from "@skyferry/actor";
import { withActorCheck } from "@skyferry/bus";
import { registerHealth, registerInputLimits, type ServiceDeps } from "@skyferry/service-kit";
import type { FastifyInstance } from "fastify";
import type { GatewayConfig } from "./config.ts";
import { authenticated, registerAuth } from "./plugins/auth.ts";
import { registerConsole } from "./plugins/console.ts";
import { registerCsrf } from "./plugins/csrf.ts";
import { registerErrorHandling } from "./plugins/errors.ts";
import { registerRequestIds, requestIdOptions, trustedPeer } from "./plugins/request-id.ts";
import { registerHistoryProxy } from "./plugins/history-proxy.ts";
import { registerOpenApi } from "./plugins/openapi.ts";
import { registerSecurityHeaders } from "./plugins/security.ts";
import { servePublicTransferSend } from "./public/transfer-send.ts";
import { authnzRoutes } from "./routes/authnz.ts";
import { consoleSupportRoutes } from "./routes/console-support.ts";
import { datasetRoutes } from "./routes/datasets.ts";
import { historyRoutes } from "./routes/histories.ts";
import { cloudAuthzRoutes } from "./routes/cloud-authz.ts";
import { jobRoutes } from "./routes/jobs.ts";
import { sendRoutes } from "./routes/send.ts";
import { cloudGetRoutes } from "./routes/cloud-get.ts";
import { cloudObjectsRoutes } from "./routes/cloud-objects.ts";
import { statusRoutes } from "./routes/status.ts";
import { userRoutes } from "./routes/users.ts";
import { trustedProxies } from "./trusted-proxies.ts";
import { galaxyInfoRoutes } from "./routes/galaxy-info.ts";
import { galaxyDatasetRoutes } from "./routes/galaxy-datasets.ts";
import { galaxyUploadRoutes } from "./routes/galaxy-uploads.ts";
import { galaxyUploads } from "./galaxy/wiring.ts";
import { registerTolerantQuery, withoutTrailingSlash } from "./plugins/tolerant-query.ts";

/** The public HTTP API: authenticates callers and forwards to the services over NATS. */
export async function gatewayApp(app: FastifyInstance, deps: ServiceDeps<GatewayConfig>): Promise<void> {
  const { instance, config } = deps;
  const timeoutMs = config.SKYFERRY_RPC_TIMEOUT_MS;
  // The gateway alone signs actor assertions; what it serves itself is checked like any service's.
  const signer = await loadActorSigner(config.SKYFERRY_ACTOR_SIGNING_KEY_FILE, config.SKYFERRY_NAMESPACE);
  const bus = withActorCheck(deps.bus, await loadActorVerifier(config.SKYFERRY_ACTOR_PUBLIC_KEY_FILE, config.SKYFERRY_NAMESPACE));
  registerErrorHandling(app);
  registerRequestIds(app);
  // Before any route: JSON depth and prototype keys, Content-Type syntax (issue 19).
  registerInputLimits(app);
  await registerSecurityHeaders(app, { publicUrl: config.SKYFERRY_PUBLIC_URL });
  await registerOpenApi(app);
  await app.register(cookie);
  registerAuth(app, {
    bus,
    signer,
    timeoutMs,
    keyCacheMs: config.SKYFERRY_API_KEY_CACHE_MS,
  });
  await registerCsrf(app, { publicUrl: config.SKYFERRY_PUBLIC_URL });
  registerTolerantQuery(app);
  // Ready on the gateway's own dependency only: its NATS connection. The other services have
  // readiness of their own; were theirs part of this one, one unready transfer pod would take the
  // API and the console out of rotation. `/api/status` reports them.
  await registerHealth(app, { service: "gateway", instance, checks: { nats: async () => bus.isConnected() } });
  // Route groups, one module each (services/gateway/src/routes/); `authenticated(...)` ones need a caller.
  await app.register(statusRoutes, { bus, timeoutMs });
  await app.register(authnzRoutes, { bus, timeoutMs, publicUrl: config.SKYFERRY_PUBLIC_URL });
  await app.register(consoleSupportRoutes, { bus, timeoutMs });
  await app.register(authenticated(userRoutes), { bus, timeoutMs });
  await app.register(authenticated(cloudAuthzRoutes), { bus, timeoutMs });
  await app.register(authenticated(sendRoutes), { bus, timeoutMs });
  await app.register(authenticated(cloudGetRoutes), { bus, timeoutMs });
  await app.register(authenticated(cloudObjectsRoutes), { bus, timeoutMs });
  await app.register(authenticated(jobRoutes), { bus, timeoutMs });
  await registerHistoryProxy(app, { historyUrl: config.SKYFERRY_HISTORY_URL, token: config.SKYFERRY_INTERNAL_TOKEN });
  await app.register(authenticated(historyRoutes), { bus, timeoutMs });
  await app.register(authenticated(datasetRoutes), { bus, timeoutMs });
  await app.register(galaxyInfoRoutes, { galaxyVersion: config.SKYFERRY_GALAXY_VERSION });
  await app.register(authenticated(galaxyDatasetRoutes), { bus, timeoutMs });
  await app.register(authenticated(galaxyUploadRoutes), { bus, timeoutMs, ...galaxyUploads(config) });
  await app.register(registerConsole); // the web console at / (packages/console/dist)
  const publicSend = servePublicTransferSend({ bus, signer, timeoutMs }); // external NATS publishers (docs/trust.md)
  app.addHook("onClose", async () => {
    await publicSend.drain();
  });
}

/** Server options from config (service-kit's ServicePlugin): which proxies' X-Forwarded-* headers are believed, and request ids (a trusted proxy's `x-request-id`, or a new UUID). */
gatewayApp.fastifyOptions = (config: GatewayConfig) => {
  const trustProxy = trustedProxies(config.SKYFERRY_TRUSTED_PROXIES);
  return { trustProxy, rewriteUrl: withoutTrailingSlash, ...requestIdOptions(trustProxy) };
};

/** A request's span continues the caller's trace (`traceparent`) only when a trusted proxy sent it; anyone else's request starts a trace. */
gatewayApp.acceptsTraceParent = (config: GatewayConfig) => {
  const trusted = trustedPeer(trustedProxies(config.SKYFERRY_TRUSTED_PROXIES));
  return (req: { socket: { remoteAddress?: string | undefined } }) => trusted(req.socket.remoteAddress);
};
