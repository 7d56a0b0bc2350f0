export { type Bus, type BusOptions, createBus } from "./bus.ts";
export type { RequestOptions, RpcHandler, RpcPagesHandler, ServeContext, ServeOptions } from "./rpc.ts";
export type { EnqueueResult, Retry, WorkContext, WorkHandler, Worker, WorkOptions } from "./jetstream.ts";
export type { BusLogger } from "./types.ts";
export { Semaphore } from "./semaphore.ts";
