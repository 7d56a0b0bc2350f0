import {
  type Actor, AuthzDescribe, HistoryGet, HistoryImportCreate, HistoryImportFail, HistoryImportFinishBatch, HistoryImportStart, type ImportFinish, TransferGetPlan,
  TransferObjectsList,
} from "@skyferry/contracts";
import { randomBytes } from "node:crypto";
import type { Bus, Retry, WorkContext } from "@skyferry/bus";
import { createDatasetStore, type DatasetStore } from "@skyferry/dataset-store";
import { fromErrorBody, internal } from "@skyferry/errors";
import type { Logger } from "@skyferry/logger";
import type { TransferConfig } from "../config.ts";
import { createBatcher } from "../jobs/batcher.ts";
import type { JobDoc } from "../jobs/job-doc.ts";
import type { JobRepository } from "../jobs/repository.ts";
import type { Patience, RunningJobs } from "../jobs/lifecycle.ts";
import { createObjectLister } from "../objects/list.ts";
import { createMemoryBudget } from "../worker/memory-budget.ts";
import type { StoreOpener } from "../worker/stores.ts";
import { rangeConcurrency } from "./config.ts";
import { createGetPlanner } from "./planner.ts";
import { createGetRunner } from "./run-get.ts";

const MiB = 1024 * 1024;
/** Finishes per history request: each is one write on the history side; a batch must answer well within the RPC timeout. */
const FINISH_BATCH = 64;

type WorkHandler = (data: { job_id: string; direction?: "get" | undefined }, ctx: WorkContext) => Promise<void | Retry>;

/**
 * Get from cloud and bucket listing, wired to the bus: the `transfer.get.plan` and
 * `transfer.objects.list` RPCs, the history item's end when a get job fails or is cancelled, and
 * the work handler that runs get jobs beside send jobs on the same queue.
 */
export function wireGet(deps: { bus: Bus; config: TransferConfig; logger: Logger; openStore: StoreOpener; jobs: JobRepository }) {
  const { bus, config, logger } = deps;
  const timeoutMs = config.TRANSFER_RPC_TIMEOUT_MS;
  const describeAuthz = (actor: Actor, authz_id: string, with_grant = false) =>
    bus.request(AuthzDescribe, { actor, authz_id, ...(with_grant ? { with_grant } : {}) }, { timeoutMs });
  // History's import subjects name the job's user only (no assertion): transfer alone may request them.
  const failItem = async (user: { user_id: string }, item_id: string, reason: string, deleted = false) => {
    await bus.request(HistoryImportFail, { actor: { user_id: user.user_id }, item_id, reason: reason.slice(0, 2000), ...(deleted ? { deleted } : {}) }, { timeoutMs });
  };
  return {
    /** Marks the history item of a failed or cancelled get job (never throws; logged). */
    itemFailed(job: JobDoc): void {
      const reason = job.state === "deleted" ? "The transfer was cancelled." : (job.error?.message ?? "The transfer failed.");
      failItem({ user_id: job.user_id }, job.dataset_id, reason, job.state === "deleted").catch((err: unknown) =>
        logger.warn({ err, job_id: job._id }, "could not mark the history item of a failed get"),
      );
    },
    serve(enqueue: (job: JobDoc, msgId: string) => Promise<void>): Array<ReturnType<Bus["serve"]>> {
      const plan = createGetPlanner({
        ownHistory: async (actor, history_id) => {
          await bus.request(HistoryGet, { actor, history_id, keys: "id" }, { timeoutMs });
        },
        describeAuthz: (actor, authz_id) => describeAuthz(actor, authz_id, true), // the grant its jobs carry
        openStore: deps.openStore,
        createItems: async (req) => (await bus.request(HistoryImportCreate, req, { timeoutMs })).items,
        failItem: (actor, id, reason) => failItem(actor, id, reason),
        jobs: deps.jobs,
        enqueue,
        newId: () => randomBytes(8).toString("hex"),
        now: () => new Date(),
        limits: { maxObjects: config.TRANSFER_GET_MAX_OBJECTS, maxBytes: config.TRANSFER_GET_MAX_MB * MiB, headConcurrency: config.TRANSFER_GET_HEAD_CONCURRENCY },
      });
      const list = createObjectLister({ describeAuthz: (actor, authz_id) => describeAuthz(actor, authz_id), openStore: deps.openStore, defaultLimit: 1000, maxLimit: 1000 });
      return [bus.serve(TransferGetPlan, plan, { concurrency: 8 }), bus.serve(TransferObjectsList, list, { concurrency: 16 })];
    },
    /** The queue's work handler: get jobs here, every other job to `send`. */
    async dispatcher(send: WorkHandler, w: { events: Parameters<typeof createGetRunner>[0]["events"]; running: RunningJobs; instance: string; datasets?: DatasetStore; patience: Patience; heartbeatMs: number; staleMs: number }) {
      const datasets = w.datasets ?? (await createDatasetStore(config, { logger }));
      const runGet = createGetRunner({
        jobs: deps.jobs,
        datasets,
        openStore: deps.openStore,
        history: {
          start: async (actor, item_id) => {
            await bus.request(HistoryImportStart, { actor: { user_id: actor.user_id }, item_id }, { timeoutMs });
          },
          finish: createBatcher<ImportFinish, undefined>(async (items) => {
            const { results } = await bus.request(HistoryImportFinishBatch, { items: [...items] }, { timeoutMs });
            return items.map((it, i) => {
              const r = results[i];
              if (r?.item_id !== it.item_id) return internal("XFER_HISTORY_REPLY", "The history service answered a finish batch out of order.");
              return r.error ? fromErrorBody(r.error) : undefined;
            });
          }, { maxBatchSize: FINISH_BATCH }),
        },
        events: w.events,
        running: w.running,
        instance: w.instance,
        logger,
        progressIntervalMs: config.TRANSFER_PROGRESS_INTERVAL_MS,
        patience: w.patience,
        heartbeatMs: w.heartbeatMs,
        staleMs: w.staleMs,
        largeBytes: 2 * config.TRANSFER_GET_RANGE_MB * MiB,
        ranges: rangeConcurrency(config) > 1
          ? {
            chunkSize: config.TRANSFER_GET_RANGE_MB * MiB,
            concurrency: rangeConcurrency(config),
            // Its own budget: range buffers of gets beside the send budget's part buffers.
            memory: createMemoryBudget(config.TRANSFER_GET_MEMORY_BUDGET_MB * MiB),
          }
          : undefined,
      });
      const handler: WorkHandler = (data, ctx) => (data.direction === "get" ? runGet(data, ctx) : send(data, ctx));
      return { handler, close: () => datasets.close?.() ?? Promise.resolve() };
    },
  };
}
