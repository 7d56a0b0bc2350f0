import { loadActorVerifier } from "@skyferry/actor";
import {
  AuthzDescribe, AuthzIssueCredentials, HistoryDatasetsForSend, HistoryDatasetsOwned, SystemPing, TransferJobAbort, TransferJobCancel, TransferJobCompleted,
  TransferJobFailed, TransferJobGet, TransferJobList, TransferJobProgress, TransferJobRetry, TransferJobWork,
  TransferSend, TransferSendPaged, sendResultPages, type Actor,
} from "@skyferry/contracts";
import { randomBytes } from "node:crypto";
import { withActorCheck, type Worker } from "@skyferry/bus";
import type { DatasetStore } from "@skyferry/dataset-store";
import { registerHealth, type ServiceDeps } from "@skyferry/service-kit";
import type { FastifyInstance } from "fastify";
import { partConcurrency, type TransferConfig } from "./config.ts";
import { createDatasetStoreFromConfig } from "./dataset-store.ts";
import { createJobHandlers } from "./jobs/handlers.ts";
import { createBatcher } from "./jobs/batcher.ts";
import { type JobDoc, toTransferJob } from "./jobs/job-doc.ts";
import { createJobRepository } from "./jobs/repository.ts";
import type { RunningJobs } from "./jobs/lifecycle.ts";
import { createSendPlanner } from "./send/planner.ts";
import { createBufferPool } from "./worker/buffer-pool.ts";
import { WHOLE_READ_MAX } from "./worker/upload.ts";
import { createMemoryBudget } from "./worker/memory-budget.ts";
import { createJobRunner } from "./worker/run-job.ts";
import { createStoreOpener, defaultStoreFactory, type StoreFactory } from "./worker/stores.ts";
import { createOutboundPolicy } from "@skyferry/outbound-policy";
import { wireGet } from "./get/wire.ts";
import { checkSendBucket } from "./send/check-bucket.ts";
import { awaitStreams, missingStreams, transferStreams } from "./streams/index.ts";
import { retryDelayMs } from "./reliability/failure.ts";
import { guardWork } from "./reliability/guard.ts";
import { createLease, LEASE_INDEXES } from "./reliability/lease.ts";
import { createReconciler, everyInterval } from "./reliability/reconciler.ts";
import { ensureIndexes } from "@skyferry/db";
import { createTransferMetrics } from "./metrics.ts";

const MiB = 1024 * 1024;

/** The transfer service as a Fastify plugin: health routes, send and job RPCs, and the workers. */
export async function transferApp(
  app: FastifyInstance,
  deps: ServiceDeps<TransferConfig> & { storeFactory?: StoreFactory; datasetStore?: DatasetStore },
): Promise<void> {
  const { mongo, instance, config, logger } = deps;
  if (!mongo) throw new Error("the transfer service needs MongoDB");
  // Every request that acts for a user is served only once its actor assertion verifies.
  const bus = withActorCheck(deps.bus, await loadActorVerifier(config.SKYFERRY_ACTOR_PUBLIC_KEY_FILE, config.SKYFERRY_NAMESPACE));
  const timeoutMs = config.TRANSFER_RPC_TIMEOUT_MS;
  const jobs = createJobRepository(mongo.db);
  await jobs.ensureIndexes();
  await ensureIndexes(mongo.db, LEASE_INDEXES);
  const now = () => new Date();
  // Transient failures (reliability/failure.ts): retried with this delay, for at most the patience.
  const patience = { patienceMs: config.SKYFERRY_TRANSIENT_PATIENCE_MS, maxDelayMs: config.TRANSFER_RETRY_MAX_DELAY_MS, now };
  const retryDelay = (delivery: number) => retryDelayMs(delivery, config.TRANSFER_RETRY_MAX_DELAY_MS);
  const liveness = { heartbeatMs: config.TRANSFER_HEARTBEAT_SECONDS * 1000, staleMs: config.TRANSFER_STALE_SECONDS * 1000 };
  // The streams are provisioned beforehand (services/transfer/src/provision.ts): this identity may
  // not create or change a stream or consumer (docs/trust.md), only find them.
  const specs = transferStreams(config);
  const consumer = specs.consumers[0]!;

  // Against a job's grant (workers) or a request's signed actor (planners, listings).
  const issue = (proof: { grant: string } | { actor: Actor }, authz_id: string) => bus.request(AuthzIssueCredentials, { ...proof, authz_id }, { timeoutMs });
  const openStore = createStoreOpener({
    // Every store connects only where the outbound policy allows (the endpoint is the user's input).
    factory: deps.storeFactory ?? defaultStoreFactory(createOutboundPolicy({ allow: config.SKYFERRY_OUTBOUND_ALLOW }), { requestTimeoutMs: config.TRANSFER_PROVIDER_TIMEOUT_SECONDS * 1000 }),
    issue,
    renewBeforeMs: config.TRANSFER_CREDENTIAL_RENEW_SECONDS * 1000,
    cacheMs: config.TRANSFER_STORE_CACHE_SECONDS * 1000,
  });
  const enqueue = async (job: JobDoc, msgId: string) => {
    // The job id alone (and its runner): workers load the job from MongoDB.
    const work = { job_id: job._id, ...(job.direction === "get" ? { direction: "get" as const } : {}) };
    await bus.enqueue(TransferJobWork, [job._id], work, msgId);
  };
  const get = wireGet({ bus, config, logger, openStore, jobs }); // get from cloud and bucket listing (issue 6)
  const running: RunningJobs = new Map();
  const metrics = createTransferMetrics(deps.metrics, { backlog: () => bus.consumerBacklog(consumer), running: () => running.size });
  // What happens to a job: its events on the bus, and the counts of /metrics.
  const events = {
    progress: (job: JobDoc, bytes: number) =>
      bus.emit(TransferJobProgress, [job._id], { job_id: job._id, state: "running", bytes_done: bytes, bytes_total: job.bytes_total }),
    completed: (job: JobDoc) => {
      bus.emit(TransferJobCompleted, [job._id], { job: toTransferJob(job) });
      metrics.completed(job);
    },
    failed: (job: JobDoc) => {
      bus.emit(TransferJobFailed, [job._id], { job: toTransferJob(job) });
      metrics.failed(job);
      if (job.direction === "get") get.itemFailed(job);
    },
    retrying: (job: JobDoc, source: string) => metrics.retrying(job, source),
  };

  const send = createSendPlanner({
    // The whole history's pages within the bound the gateway gives a send (120 s): a large history
    // on FerretDB reads at ~4,000 datasets a second.
    histories: (actor, history_id, dataset_ids) =>
      bus.requestMany(HistoryDatasetsForSend, { actor, history_id, ...(dataset_ids ? { dataset_ids } : {}) }, { timeoutMs: Math.max(timeoutMs, 120_000) }),
    describeAuthz: (actor, authz_id) => bus.request(AuthzDescribe, { actor, authz_id, with_grant: true }, { timeoutMs }),
    issueCredentials: (actor, authz_id) => issue({ actor }, authz_id),
    checkBucket: (actor, authz_id, bucket) => checkSendBucket(openStore, actor, authz_id, bucket),
    jobs,
    enqueue,
    newId: () => randomBytes(8).toString("hex"),
    now: () => new Date(),
  });
  const handlers = createJobHandlers({
    jobs,
    signalAbort: (id) => bus.emit(TransferJobAbort, [id], { job_id: id }),
    openStore,
    enqueue,
    failedEvent: events.failed,
    warn: (obj, msg) => logger.warn(obj, msg),
    cancelWaitMs: 3000,
  });
  const subscriptions = [
    bus.serve(SystemPing.transfer, async ({ echo }) => ({ service: "transfer" as const, instance, echo, time: new Date().toISOString() })),
    bus.serve(TransferSend, send, { concurrency: 16 }),
    bus.serveMany(TransferSendPaged, async function* (req) {
      yield* sendResultPages(await send(req));
    }, { concurrency: 16 }),
    bus.serve(TransferJobGet, handlers.get),
    bus.serve(TransferJobList, handlers.list),
    bus.serve(TransferJobCancel, handlers.cancel),
    bus.serve(TransferJobRetry, handlers.retry),
    ...get.serve(enqueue),
  ];

  let worker: Worker | undefined;
  let closing = false;
  let gets: { close(): Promise<void> } | undefined;
  let stopReconciler: (() => Promise<void>) | undefined;
  // Any transfer instance may sweep (one at a time, by the lease), also one without workers.
  const startReconciler = () => {
    if (stopReconciler || config.TRANSFER_RECONCILE_SECONDS === 0) return;
    const reconciler = createReconciler({
      jobs,
      lease: createLease(mongo.db, { name: "reconciler", holder: instance, ttlMs: 3 * config.TRANSFER_RECONCILE_SECONDS * 1000, now }),
      backlog: () => bus.consumerBacklog(consumer),
      enqueue,
      failed: events.failed,
      now,
      staleMs: liveness.staleMs,
      patienceMs: config.SKYFERRY_TRANSIENT_PATIENCE_MS,
      graceMs: 2 * liveness.heartbeatMs,
      maxRedrives: config.TRANSFER_MAX_REDRIVES,
      batch: 200,
      logger,
    });
    const sweeps = everyInterval(async () => metrics.swept(await reconciler.sweep()), config.TRANSFER_RECONCILE_SECONDS * 1000, (err) => logger.warn({ err }, "reconciler sweep failed; the next one tries again"));
    stopReconciler = async () => {
      await sweeps.stop();
      await reconciler.release().catch(() => undefined);
    };
  };
  const startWorkers = async () => {
    startReconciler();
    if (!config.TRANSFER_WORKER_ENABLED) return;
    const datasets = deps.datasetStore ?? (await createDatasetStoreFromConfig(config));
    // One history request answers for the jobs that start together (like the finish batches of gets).
    const datasetOwned = createBatcher<JobDoc, boolean>(async (batch) => {
      const items = batch.map((j) => ({ user_id: j.user_id, history_id: j.history_id, dataset_id: j.dataset_id, store_key: j.store_key }));
      const { owned } = await bus.request(HistoryDatasetsOwned, { items }, { timeoutMs });
      return batch.map((_, i) => owned[i] === true);
    }, { maxBatchSize: 256 });
    const runJob = createJobRunner({
      jobs,
      datasets,
      datasetOwned,
      openStore,
      events,
      running,
      instance,
      logger,
      progressIntervalMs: config.TRANSFER_PROGRESS_INTERVAL_MS,
      patience,
      ...liveness,
      upload: {
        partSize: config.TRANSFER_PART_SIZE_MB * MiB,
        partConcurrency: partConcurrency(config),
        singlePutMax: config.TRANSFER_SINGLE_PUT_MAX_MB * MiB,
        now: () => new Date(),
        maxRenames: 100,
        wholeReads: createBufferPool(WHOLE_READ_MAX + 1, config.TRANSFER_CONCURRENCY),
      },
      memory: createMemoryBudget(config.TRANSFER_MEMORY_BUDGET_MB * MiB),
    });
    const dispatch = await get.dispatcher(runJob, { events, running, instance, patience, ...liveness });
    const aborts = bus.on(TransferJobAbort, TransferJobAbort.pattern(bus.namespace), ({ job_id }) => running.get(job_id)?.abort());
    try {
      const handler = guardWork((data, ctx) => {
        if (ctx.deliveryCount > 1) metrics.redelivered(data.direction ?? "send");
        return dispatch.handler(data, ctx);
      }, {
        retryDelayMs: retryDelay,
        continueWork: async (data, msgId) => {
          await bus.enqueue(TransferJobWork, [data.job_id], { job_id: data.job_id, ...(data.direction ? { direction: data.direction } : {}) }, msgId);
        },
        logger,
      });
      worker = await bus.work(consumer, TransferJobWork, handler, { concurrency: config.TRANSFER_CONCURRENCY, backoffMs: retryDelay });
      // A consume loop that ends by itself (the consumer deleted, an error) is started again, and
      // /readyz says `consuming: false` meanwhile, rather than a worker silently taking nothing.
      const supervise = (w: Worker): void => {
        void w.ended.then(async () => {
          while (!closing && worker === w) {
            await new Promise((r) => setTimeout(r, 2000));
            if (closing) return;
            try {
              const next = await bus.work(consumer, TransferJobWork, handler, { concurrency: config.TRANSFER_CONCURRENCY, backoffMs: retryDelay });
              worker = next;
              logger.info("transfer workers consuming again");
              supervise(next);
            } catch (err) {
              logger.warn({ err }, "transfer workers cannot consume yet; trying again in 2 s");
            }
          }
        });
      };
      supervise(worker);
    } catch (err) {
      // Tried again at the next check (the consumer went away since it was found, say): nothing left behind.
      aborts.unsubscribe();
      await dispatch.close();
      throw err;
    }
    subscriptions.push(aborts);
    gets = dispatch;
    logger.info(
      { concurrency: config.TRANSFER_CONCURRENCY, part_concurrency: partConcurrency(config), memory_budget_mb: config.TRANSFER_MEMORY_BUDGET_MB },
      "transfer workers started",
    );
  };
  const streams = await awaitStreams({ missing: () => missingStreams(bus, specs), onPresent: startWorkers, logger, retryMs: 2000 });
  await registerHealth(app, {
    service: "transfer",
    instance,
    // `streams`: the provisioned stream and consumer were found and the workers started.
    // `consuming`: the workers' consume loop runs (or workers are off here).
    checks: {
      nats: async () => bus.isConnected(),
      mongodb: async () => mongo.ping(),
      streams: async () => streams.ready,
      consuming: async () => !config.TRANSFER_WORKER_ENABLED || worker?.consuming === true,
    },
  });
  app.addHook("onClose", async () => {
    closing = true;
    await streams.close();
    await stopReconciler?.();
    // Stop taking jobs at once; jobs still running after the drain time are aborted (the runners
    // treat the worker's aborted signal as a shutdown and record no failure) and handed back, their
    // parts recorded, so another worker resumes them.
    if (worker) {
      logger.info({ in_flight: worker.inFlight, drain_seconds: config.TRANSFER_DRAIN_SECONDS }, "draining transfer workers");
      const drainMs = config.TRANSFER_DRAIN_SECONDS * 1000;
      const over = setTimeout(() => {
        if (running.size > 0) logger.warn({ job_ids: [...running.keys()] }, "drain time over; handing running jobs back");
      }, drainMs);
      await worker.stop(drainMs);
      clearTimeout(over);
    }
    await Promise.all(subscriptions.map((s) => s.drain()));
    await openStore.closeAll();
    await gets?.close();
  });
}
