import { type Static, Type } from "@sinclair/typebox";
import { BaseConfig } from "@skyferry/service-kit";

/** The transfer service's settings, each read from the environment variable of the same name. */
export const TransferConfig = Type.Object({
  ...BaseConfig,
  /** HTTP port for /healthz and /readyz. */
  PORT: Type.Integer({ default: 8083, minimum: 0, maximum: 65535 }),
  /** Run transfer workers in this process (false: only answer send and job requests). */
  TRANSFER_WORKER_ENABLED: Type.Boolean({ default: true }),
  /** Jobs this process uploads at once. */
  TRANSFER_CONCURRENCY: Type.Integer({ default: 4, minimum: 1, maximum: 256 }),
  /** Multipart part / Azure block size in MiB (adapters raise it to stay within 10,000 parts). */
  TRANSFER_PART_SIZE_MB: Type.Integer({ default: 8, minimum: 5, maximum: 512 }),
  /** Upper bound for part buffers of all running jobs, in MiB: concurrency × parts in flight × part size. */
  TRANSFER_MEMORY_BUDGET_MB: Type.Integer({ default: 128, minimum: 8 }),
  /** Seconds without a heartbeat before JetStream hands a job to another worker (after a crash). */
  TRANSFER_ACK_WAIT_SECONDS: Type.Integer({ default: 30, minimum: 1, maximum: 3600 }),
  /** Deliveries of one job message before it is given up. */
  TRANSFER_MAX_DELIVER: Type.Integer({ default: 10, minimum: 2, maximum: 1000 }),
  /** Ask for new credentials this many seconds before they expire (at least a quarter of their life). */
  TRANSFER_CREDENTIAL_RENEW_SECONDS: Type.Integer({ default: 120, minimum: 1 }),
  /** Minimum interval between progress events (and progress writes) of one job, in ms. */
  TRANSFER_PROGRESS_INTERVAL_MS: Type.Integer({ default: 500, minimum: 500, maximum: 60_000 }),
  /** Directory of the file dataset store the history service writes (read-only here). */
  DATASET_STORE_DIR: Type.String({ default: ".data/datasets" }),
  /** Timeout of requests to the authz and history services, in ms. */
  TRANSFER_RPC_TIMEOUT_MS: Type.Integer({ default: 10_000, minimum: 100 }),
});
export type TransferConfig = Static<typeof TransferConfig>;

/** Parts uploaded at once per job so that all jobs together stay within the memory budget. */
export function partConcurrency(config: TransferConfig): number {
  return Math.max(1, Math.floor(config.TRANSFER_MEMORY_BUDGET_MB / (config.TRANSFER_CONCURRENCY * config.TRANSFER_PART_SIZE_MB)));
}
