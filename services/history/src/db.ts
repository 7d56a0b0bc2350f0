// The history service's MongoDB data model, for tools that measure or check it (bench:db, the
// index test): its repositories, the indexes their queries use, and the import finisher.
export { createDatasetRepository, DATASET_INDEXES, type DatasetDoc, type DatasetRepository, HID_COUNTERS, hidBlock } from "./datasets/repository.ts";
export { createHistoryRepository, HISTORY_INDEXES, type HistoryDoc } from "./histories/repository.ts";
export { createFinisher } from "./imports/finish.ts";

import { DATASET_INDEXES as datasetIndexes } from "./datasets/repository.ts";
import { HISTORY_INDEXES as historyIndexes } from "./histories/repository.ts";

/** Every index of the history service, by collection (as its start-up ensures them). */
export const HISTORY_SERVICE_INDEXES = { histories: historyIndexes, datasets: datasetIndexes };
