export { type Bus, type BusOptions, createBus } from "./bus.ts";
export { asPermissionError, busPermissionDenied, connectNats, connectionOptions, type NatsConnectSettings, type NatsCredentials, natsSettingsProblems, SETTING_NAMES } from "./connect.ts";
export { type ActorCheck, type RequestOptions, type RpcHandler, type RpcPagesHandler, type ServeContext, type ServeOptions, withActorCheck } from "./rpc.ts";
export type { EnqueueResult, Retry, WorkContext, WorkHandler, Worker, WorkOptions } from "./jetstream.ts";
export type { BusLogger } from "./types.ts";
export { Semaphore } from "./semaphore.ts";
export { isTransientBusError } from "./errors.ts";
