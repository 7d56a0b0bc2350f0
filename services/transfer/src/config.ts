import { type Static, Type } from "@sinclair/typebox";
import { DatasetStoreConfig } from "@skyferry/dataset-store";
import { ActorVerifyConfig } from "@skyferry/actor";
import { OutboundConfig } from "@skyferry/outbound-policy";
import { BaseConfig } from "@skyferry/service-kit";
import { GetConfig } from "./get/config.ts";

/** The transfer service's settings, each read from the environment variable of the same name. */
export const TransferConfig = Type.Object({
  ...BaseConfig,
  ...ActorVerifyConfig,
  ...OutboundConfig,
  /** HTTP port for /healthz and /readyz. */
  PORT: Type.Integer({ default: 8083, minimum: 0, maximum: 65535 }),
  /** Run transfer workers in this process (false: only answer send and job requests). */
  TRANSFER_WORKER_ENABLED: Type.Boolean({ default: true }),
  /**
   * Jobs this process runs at once (at most; the memory budget may hold some back until others finish).
   * A small dataset's job spends most of its time waiting (its PUT, the batched database writes), so
   * more of them in flight keep the CPU busy. bench:send, 1000 x 100 KiB, against rclone: 0.67-0.73x
   * at 16, 0.79-0.81x at 24, 0.84-0.91x at 32, 0.82-0.95x at 48-128. The worker's peak RSS grows with
   * it: 145-157 MiB at 24 in that shape, but up to 218 MiB at 32 (and 217 at 64), past the 200 MiB
   * target. And 48 at once cost 100 x 10 MiB: 0.59x (48 concurrent 10 MiB PUTs overload radosgw's
   * OSD), against 1.01x at 24; once a small dataset was read whole, 48 no longer gained on the
   * small shape (0.83-0.85x against 0.87x). So 24.
   */
  TRANSFER_CONCURRENCY: Type.Integer({ default: 24, minimum: 1, maximum: 256 }),
  /** Multipart part / Azure block size in MiB (adapters raise it to stay within 10,000 parts). */
  TRANSFER_PART_SIZE_MB: Type.Integer({ default: 8, minimum: 5, maximum: 512 }),
  /**
   * Upper bound for the body buffers of all running jobs, in MiB. A job reserves its whole size when
   * it is sent in one PUT, else (parts in flight + 1) × part size; jobs wait until their share is free.
   */
  TRANSFER_MEMORY_BUDGET_MB: Type.Integer({ default: 32, minimum: 8 }),
  /** Objects up to this size (MiB) go in one PUT (no multipart upload, no create-only claim); above it, multipart. */
  TRANSFER_SINGLE_PUT_MAX_MB: Type.Integer({ default: 16, minimum: 0, maximum: 5120 }),
  /** Multipart parts uploaded at once per job (fewer when the memory budget is smaller). */
  TRANSFER_PART_CONCURRENCY: Type.Integer({ default: 4, minimum: 1, maximum: 64 }),
  /** Seconds a worker reuses one provider client (and its credentials) for jobs of the same user and authorization; 0: one per job. */
  TRANSFER_STORE_CACHE_SECONDS: Type.Integer({ default: 300, minimum: 0, maximum: 86_400 }),
  /** Seconds without a heartbeat before JetStream hands a job to another worker (after a crash). */
  TRANSFER_ACK_WAIT_SECONDS: Type.Integer({ default: 30, minimum: 1, maximum: 3600 }),
  /**
   * Seconds a stopping worker (SIGTERM) lets its running jobs go on: it stops taking jobs at once,
   * jobs that end within this time end normally, and those still running after it are handed back
   * (nak, no delay, nothing recorded against them) for another worker to resume from their
   * recorded parts. 20 fits Kubernetes' default 30 s grace period; set terminationGracePeriodSeconds
   * to at least this + 10 (the process then exits by itself at this + 8 at the latest).
   */
  TRANSFER_DRAIN_SECONDS: Type.Integer({ default: 20, minimum: 0, maximum: 3600 }),
  /** Deliveries of one job message before it is given up. */
  TRANSFER_MAX_DELIVER: Type.Integer({ default: 10, minimum: 2, maximum: 1000 }),
  /**
   * Copies of the work stream (and its consumer) JetStream keeps, read by the provisioning: 1 on a
   * single NATS server; 3 on a cluster of 3 or more, so that jobs survive the loss of a node.
   */
  TRANSFER_STREAM_REPLICAS: Type.Integer({ default: 1, minimum: 1, maximum: 5 }),
  /** Ask for new credentials this many seconds before they expire (at least a quarter of their life). */
  TRANSFER_CREDENTIAL_RENEW_SECONDS: Type.Integer({ default: 120, minimum: 1 }),
  /** Minimum interval between progress events (and progress writes) of one job, in ms. */
  TRANSFER_PROGRESS_INTERVAL_MS: Type.Integer({ default: 500, minimum: 500, maximum: 60_000 }),
  /** The dataset store the history service writes (DATASET_STORE, DATASET_STORE_DIR, DATASET_STORE_S3_*), read-only here. */
  ...DatasetStoreConfig,
  /** Get from cloud: caps on one get (services/transfer/src/get/config.ts). */
  ...GetConfig,
  /**
   * How long a job keeps trying through transient failures (the database unreachable or failing
   * over, NATS timeouts, a provider's 5xx, throttling, resets, timeouts, DNS failures), in ms,
   * counted from the first transient failure recorded on the job. Past it the job ends `error`
   * with `gave up after <duration>: <last reason>`. 15 minutes rides out a database failover or a
   * provider outage of several minutes.
   */
  SKYFERRY_TRANSIENT_PATIENCE_MS: Type.Integer({ default: 900_000, minimum: 0 }),
  /** Cap of the doubling delay (from 1 s) between attempts of a job after transient failures, in ms. */
  TRANSFER_RETRY_MAX_DELAY_MS: Type.Integer({ default: 60_000, minimum: 1000, maximum: 3_600_000 }),
  /**
   * Seconds between heartbeat writes of a running (claimed) job: one conditional update per job,
   * progress writes count too. A few of them must fit in TRANSFER_STALE_SECONDS.
   */
  TRANSFER_HEARTBEAT_SECONDS: Type.Integer({ default: 30, minimum: 1, maximum: 3600 }),
  /**
   * Seconds without a sign of life after which the reconciler re-drives a job: a `running` job
   * whose heartbeat is older, a `queued` one not updated for longer (only while the work queue has
   * nothing undelivered). Keep it above the ack wait, the retry delay cap and a few heartbeats.
   */
  TRANSFER_STALE_SECONDS: Type.Integer({ default: 300, minimum: 2, maximum: 86_400 }),
  /** Seconds between the reconciler's sweeps (one instance at a time sweeps, by a lease in MongoDB); 0: no reconciler here. */
  TRANSFER_RECONCILE_SECONDS: Type.Integer({ default: 60, minimum: 0, maximum: 3600 }),
  /** Re-drives of one job by the reconciler before it ends the job `error` instead. */
  TRANSFER_MAX_REDRIVES: Type.Integer({ default: 10, minimum: 1, maximum: 1000 }),
  /**
   * A request to a cloud provider that stalls this long fails as a timeout (S3: no bytes either
   * way for this long; Azure: one try takes longer), which is transient: retried within the patience.
   */
  TRANSFER_PROVIDER_TIMEOUT_SECONDS: Type.Integer({ default: 120, minimum: 1, maximum: 3600 }),
  /** Timeout of requests to the authz and history services, in ms. */
  TRANSFER_RPC_TIMEOUT_MS: Type.Integer({ default: 10_000, minimum: 100 }),
});
export type TransferConfig = Static<typeof TransferConfig>;

/** Parts uploaded at once per multipart job: the configured count, fewer when one job's parts (+1 being read) would not fit the budget. */
export function partConcurrency(config: TransferConfig): number {
  const fit = Math.floor(config.TRANSFER_MEMORY_BUDGET_MB / config.TRANSFER_PART_SIZE_MB) - 1;
  return Math.max(1, Math.min(config.TRANSFER_PART_CONCURRENCY, fit));
}

/** Seconds after the drain for handing back the jobs still running, draining NATS and closing MongoDB before a stopping worker exits anyway. */
export const AFTER_DRAIN_SECONDS = 8;

/** The hard deadline of a worker's graceful shutdown, in ms: the drain and the hand-back after it. */
export function shutdownTimeoutMs(config: TransferConfig): number {
  return (config.TRANSFER_DRAIN_SECONDS + AFTER_DRAIN_SECONDS) * 1000;
}
