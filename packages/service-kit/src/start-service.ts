import { type Bus, createBus, type NatsCredentials, natsSettingsProblems } from "@skyferry/bus";
import { SkyferryError } from "@skyferry/errors";
import { connectMongo, isDatabaseUnavailable, type Mongo } from "@skyferry/db";
import { createLogger, type Logger } from "@skyferry/logger";
import { busRequestMetrics, createServiceMetrics, registerHttpMetrics, serveMetrics, type ServiceMetrics } from "@skyferry/metrics";
import { registerHttpTracing, startTracing } from "@skyferry/tracing";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyPluginAsync, type FastifyRequest } from "fastify";
import { drainAfterEarlyReply } from "./early-reply.ts";
import { instanceId, type RunningServer, runServer } from "./run-server.ts";

/** What `startService` hands a service's app plugin: every collaborator, created once. */
export interface ServiceDeps<C> {
  config: C;
  logger: Logger;
  bus: Bus;
  /** Present when the service asked for MongoDB. */
  mongo: Mongo | undefined;
  instance: string;
  /** The service's Prometheus registry: HTTP and NATS request metrics are already kept in it. */
  metrics: ServiceMetrics;
}

/**
 * A service's app plugin. `fastifyOptions`, when present, derives the Fastify server options that
 * depend on the service's config (e.g. the gateway's `trustProxy`): they must be given when the
 * server is created, so a plugin cannot set them itself, and every builder of the service (its
 * `server.ts`, the tests) gets the same ones. It may throw a ConfigError; it runs before anything
 * is connected.
 */
export type ServicePlugin<C> = FastifyPluginAsync<ServiceDeps<C>> & {
  fastifyOptions?: (config: C) => Record<string, unknown>;
  /** Whose `traceparent` a request's span continues (default: every caller's); the gateway: trusted proxies only. */
  acceptsTraceParent?: (config: C) => (req: FastifyRequest) => boolean;
};

export interface StartServiceOptions<C extends ServiceConfigBase> {
  name: string;
  config: C;
  plugin: ServicePlugin<C>;
  useMongo: boolean;
  /** Fastify options beyond the logger and the plugin's own `fastifyOptions` (e.g. bodyLimit). */
  fastify?: Record<string, unknown>;
  /**
   * Hard deadline for a graceful shutdown (ms, default 30 s) before the process exits anyway.
   * Keep it below the orchestrator's grace period (Kubernetes' terminationGracePeriodSeconds).
   */
  shutdownTimeoutMs?: number;
}

export interface ServiceConfigBase {
  HOST: string;
  PORT: number;
  SKYFERRY_NATS_URL: string;
  SKYFERRY_NATS_NKEY_SEED_FILE: string;
  SKYFERRY_NATS_CREDS_FILE: string;
  SKYFERRY_NATS_TLS_CA_FILE: string;
  SKYFERRY_NATS_TLS_CERT_FILE: string;
  SKYFERRY_NATS_TLS_KEY_FILE: string;
  SKYFERRY_NAMESPACE: string;
  MONGO_URL: string;
  MONGO_DB: string;
  SKYFERRY_DB_QUERY_SHAPES?: string | undefined;
  SKYFERRY_METRICS_PORT: number;
  SKYFERRY_METRICS_HOST: string;
  OTEL_EXPORTER_OTLP_ENDPOINT: string;
  SKYFERRY_TRACE_SAMPLE_RATIO: number;
  LOG_LEVEL: string;
}

/** A service built and ready to listen, with every collaborator it opened. */
export interface BuiltService<C> {
  app: FastifyInstance;
  deps: ServiceDeps<C>;
  /** Closes the HTTP app (its onClose hooks stop work), then drains NATS, then closes MongoDB. */
  closers: Array<{ name: string; close: () => Promise<void> }>;
  close(): Promise<void>;
}

/**
 * Creates the logger, connects MongoDB and NATS, and registers the service plugin on a new
 * Fastify app, without listening. Tests use it directly; `startService` adds listen + signals.
 */
export async function buildService<C extends ServiceConfigBase>(
  options: StartServiceOptions<C> & { logger?: Logger },
): Promise<BuiltService<C>> {
  const { config, name } = options;
  const logger = options.logger ?? createLogger({ name, level: config.LOG_LEVEL });
  // Checked before anything is opened: a service without its NATS identity does not start.
  const credentials = natsCredentials(config);
  const problems = natsSettingsProblems({ url: config.SKYFERRY_NATS_URL, identity: name, credentials });
  if (problems.length > 0) throw new SkyferryError("CONFIG_INVALID", `Invalid configuration:\n  - ${problems.join("\n  - ")}`, { status: 500 });
  const instance = instanceId(name);
  const metrics = createServiceMetrics(name);
  const tracing = startTracing({ service: name, instance, endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT, sampleRatio: config.SKYFERRY_TRACE_SAMPLE_RATIO });
  const fastifyOptions = { ...options.plugin.fastifyOptions?.(config), ...options.fastify };
  const mongo = options.useMongo
    ? await connectMongo({ url: config.MONGO_URL, dbName: config.MONGO_DB, logger, queryShapesFile: config.SKYFERRY_DB_QUERY_SHAPES })
    : undefined;
  let bus: Bus;
  try {
    // A handler failing because the database is unreachable answers 503 (retryable), not 500: a
    // worker asking this service treats it as a transient fault (issue 25).
    bus = await createBus({ url: config.SKYFERRY_NATS_URL, namespace: config.SKYFERRY_NAMESPACE, service: name, credentials, logger, observe: busRequestMetrics(metrics, config.SKYFERRY_NAMESPACE), ...(mongo ? { isUnavailable: isDatabaseUnavailable } : {}) });
  } catch (err) {
    await mongo?.close();
    await tracing.shutdown();
    throw err;
  }
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // Unknown fields are refused, not silently dropped; query strings are coerced to their types.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: "array", useDefaults: true } },
    ...fastifyOptions,
  }) as unknown as FastifyInstance;
  // Before the service's plugin, so that its every route is measured.
  registerHttpMetrics(app, metrics);
  const acceptParent = options.plugin.acceptsTraceParent?.(config);
  registerHttpTracing(app, { service: name, ...(acceptParent ? { acceptParent } : {}) });
  const deps: ServiceDeps<C> = { config, logger, bus, mongo, instance, metrics };
  const closers = [{ name: "nats", close: () => bus.drain() }];
  if (mongo) closers.push({ name: "mongodb", close: () => mongo.close() });
  // Last: the spans of the shutdown itself are sent too.
  closers.push({ name: "tracing", close: () => tracing.shutdown() });
  drainAfterEarlyReply(app);
  try {
    await app.register(options.plugin, deps);
    await app.ready();
  } catch (err) {
    for (const c of closers) await c.close().catch(() => undefined);
    throw err;
  }
  return {
    app,
    deps,
    closers,
    async close() {
      await app.close();
      for (const c of closers) await c.close().catch((err: unknown) => logger.warn({ err, resource: c.name }, "close failed"));
    },
  };
}

/** The NATS identity and TLS files of a service's config (docs/trust.md); empty values are unset. */
export function natsCredentials(config: ServiceConfigBase): NatsCredentials {
  const set = (v: string) => (v === "" ? undefined : v);
  return {
    nkeySeedFile: set(config.SKYFERRY_NATS_NKEY_SEED_FILE),
    credsFile: set(config.SKYFERRY_NATS_CREDS_FILE),
    tlsCaFile: set(config.SKYFERRY_NATS_TLS_CA_FILE),
    tlsCertFile: set(config.SKYFERRY_NATS_TLS_CERT_FILE),
    tlsKeyFile: set(config.SKYFERRY_NATS_TLS_KEY_FILE),
  };
}

/**
 * The body of every `server.ts`: builds the service, listens, and wires graceful shutdown
 * (HTTP first, then NATS drain, then MongoDB) on SIGTERM and SIGINT.
 */
export async function startService<C extends ServiceConfigBase>(
  options: StartServiceOptions<C>,
): Promise<{ app: FastifyInstance; server: RunningServer; deps: ServiceDeps<C> }> {
  const logger = createLogger({ name: options.name, level: options.config.LOG_LEVEL });
  try {
    const built = await buildService({ ...options, logger });
    const { config } = options;
    const closers = [...built.closers];
    if (config.SKYFERRY_METRICS_PORT > 0) {
      const host = config.SKYFERRY_METRICS_HOST === "" ? config.HOST : config.SKYFERRY_METRICS_HOST;
      const metricsServer = await serveMetrics(built.deps.metrics.registry, { host, port: config.SKYFERRY_METRICS_PORT }).catch(async (err: unknown) => {
        await built.close();
        throw err;
      });
      logger.info({ url: metricsServer.url }, "metrics listening");
      // Scraped until the end: the last close.
      closers.push({ name: "metrics", close: () => metricsServer.close() });
    }
    const server = await runServer({
      app: built.app,
      host: config.HOST,
      port: config.PORT,
      logger,
      closers,
      shutdownTimeoutMs: options.shutdownTimeoutMs,
    });
    return { app: built.app, server, deps: built.deps };
  } catch (err) {
    logger.fatal({ err }, "start-up failed");
    throw err;
  }
}
