export { type HealthOptions, type ReadinessCheck, registerHealth } from "./health.ts";
export { instanceId, type RunningServer, type RunServerOptions, runServer } from "./run-server.ts";
export { type ServiceConfigBase, type ServiceDeps, type BuiltService, buildService, natsCredentials, type ServicePlugin, type StartServiceOptions, startService } from "./start-service.ts";
export { BaseConfig } from "./base-config.ts";
export { drainAfterEarlyReply, EARLY_REPLY_LIMITS, type EarlyReplyLimits } from "./early-reply.ts";
export { jsonDeeperThan, MAX_JSON_DEPTH, registerInputLimits } from "./input-limits.ts";
