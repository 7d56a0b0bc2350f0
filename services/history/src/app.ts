import { loadActorVerifier } from "@skyferry/actor";
import { withActorCheck } from "@skyferry/bus";
import {
  DatasetDelete, DatasetGet, DatasetUpdate, HistoryContentsList, HistoryCreate, HistoryDatasetsForSend, HistoryDelete, HistoryGet, HistoryList,
  HistoryUpdate, SystemPing,
} from "@skyferry/contracts";
import { createDatasetStore } from "@skyferry/dataset-store";
import { sniffDatatype } from "@skyferry/datatypes";
import { ensureIndexes } from "@skyferry/db";
import { registerHealth, registerInputLimits, type ServiceDeps } from "@skyferry/service-kit";
import { fetchUrl } from "@skyferry/url-fetch";
import type { FastifyInstance } from "fastify";
import type { HistoryConfig } from "./config.ts";
import { createDatasetRepository, DATASET_INDEXES } from "./datasets/repository.ts";
import { createDatasetService } from "./datasets/service.ts";
import { createHistoryRepository, HISTORY_INDEXES } from "./histories/repository.ts";
import { createHistoryService } from "./histories/service.ts";
import { displayRoute } from "./http/display-route.ts";
import { registerHttpErrors } from "./http/errors.ts";
import { registerInternalAuth } from "./http/internal-auth.ts";
import { uploadRoutes } from "./http/upload-routes.ts";
import { createIngest } from "./uploads/ingest.ts";
import { measuredIngest } from "./uploads/metrics.ts";
import { serveImports } from "./imports/handlers.ts";

/**
 * The history service as a Fastify plugin: histories and datasets over NATS (metadata), and the
 * internal HTTP routes the gateway streams uploads and downloads through (bytes never cross NATS).
 */
export async function historyApp(app: FastifyInstance, deps: ServiceDeps<HistoryConfig>): Promise<void> {
  const { mongo, instance, config, logger } = deps;
  if (!mongo) throw new Error("the history service needs MongoDB");
  // Every request that acts for a user is served only once its actor assertion verifies.
  const bus = withActorCheck(deps.bus, await loadActorVerifier(config.SKYFERRY_ACTOR_PUBLIC_KEY_FILE, config.SKYFERRY_NAMESPACE));
  await ensureIndexes(mongo.db, { histories: HISTORY_INDEXES, datasets: DATASET_INDEXES });
  const store = await createDatasetStore(config, { logger });
  const now = () => new Date();
  const historyRepo = createHistoryRepository(mongo.db);
  const datasetRepo = createDatasetRepository(mongo.db);
  // The two services need each other (purge a history's datasets / a dataset's history): late-bound.
  let purgeDatasets: (historyId: string) => Promise<void> = async () => undefined;
  const histories = createHistoryService({ histories: historyRepo, datasets: datasetRepo, purgeDatasets: (id) => purgeDatasets(id), now });
  const datasets = createDatasetService({ datasets: datasetRepo, ownedHistory: histories.owned, store, logger, now });
  purgeDatasets = datasets.purgeHistory;
  const ingest = measuredIngest(createIngest({ datasets: datasetRepo, store, sniff: sniffDatatype, logger, now, maxBytes: config.HISTORY_MAX_UPLOAD_BYTES }), deps.metrics);

  registerHttpErrors(app);
  // The same input limits as the gateway's (deep JSON, bad Content-Type), for its internal routes.
  registerInputLimits(app);
  await registerHealth(app, {
    service: "history",
    instance,
    checks: {
      nats: async () => bus.isConnected(),
      mongodb: async () => mongo.ping(),
    },
  });
  const internalAuth = registerInternalAuth(app, config.SKYFERRY_INTERNAL_TOKEN);
  await app.register(async (internal) => {
    internal.addHook("onRequest", internalAuth);
    await internal.register(uploadRoutes, {
      histories,
      ingest,
      fetchUrl,
      maxBytes: config.HISTORY_MAX_UPLOAD_BYTES,
      maxFiles: config.HISTORY_MAX_FILES_PER_UPLOAD,
      url: { allowPrivate: config.HISTORY_ALLOW_PRIVATE_URLS, allowlist: config.SKYFERRY_OUTBOUND_ALLOW, timeoutMs: config.HISTORY_URL_TIMEOUT_MS, maxRedirects: config.HISTORY_URL_MAX_REDIRECTS },
    });
    await internal.register(displayRoute, { datasets, store });
  });

  const subscriptions = [
    bus.serve(SystemPing.history, async ({ echo }) => ({ service: "history" as const, instance, echo, time: new Date().toISOString() })),
    bus.serve(HistoryList, (req) => histories.list(req)),
    bus.serve(HistoryGet, (req) => histories.get(req)),
    bus.serve(HistoryCreate, (req) => histories.create(req)),
    bus.serve(HistoryUpdate, (req) => histories.update(req)),
    bus.serve(HistoryDelete, (req) => histories.delete(req)),
    bus.serve(HistoryContentsList, (req) => datasets.contents(req)),
    bus.serve(DatasetGet, (req) => datasets.get(req)),
    bus.serve(DatasetUpdate, (req) => datasets.update(req)),
    bus.serve(DatasetDelete, (req) => datasets.delete(req)),
    bus.serveMany(HistoryDatasetsForSend, (req) => datasets.forSend(req)),
    ...serveImports(bus, { datasets: datasetRepo, ownedHistory: histories.owned, store, logger, now }), // get from cloud (issue 6)
  ];
  app.addHook("onClose", async () => {
    await Promise.all(subscriptions.map((s) => s.drain()));
  });
}
