import { createDatasetStore, type DatasetStore } from "@skyferry/dataset-store";
import type { Logger } from "@skyferry/logger";
import type { TransferConfig } from "./config.ts";

/**
 * The dataset store the history service writes (`DATASET_STORE`: the shared directory or the
 * bucket), opened read-only: workers stream a dataset's bytes straight from it to the provider.
 */
export function createDatasetStoreFromConfig(config: TransferConfig, logger?: Logger): Promise<DatasetStore> {
  return createDatasetStore(config, { readOnly: true, ...(logger ? { logger } : {}) });
}
