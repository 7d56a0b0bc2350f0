import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { resolve, sep } from "node:path";
import type { DatasetStore } from "@skyferry/dataset-store";
import { SkyferryError } from "@skyferry/errors";
import type { TransferConfig } from "./config.ts";

const readOnly = () => Promise.reject(new SkyferryError("XFER_DATASET_STORE_READ_ONLY", "Transfer workers only read the dataset store.", { status: 500 }));

/**
 * The dataset store the history service writes, opened read-only from the same directory
 * (`DATASET_STORE_DIR`). Interim: a direct file reader until @skyferry/dataset-store exports its
 * `createDatasetStore` (file | s3); then this becomes that call.
 */
export async function createDatasetStoreFromConfig(config: TransferConfig): Promise<DatasetStore> {
  const root = resolve(config.DATASET_STORE_DIR);
  const path = (key: string) => {
    const p = resolve(root, key);
    if (!p.startsWith(root + sep)) throw new SkyferryError("XFER_DATASET_KEY_INVALID", "Invalid dataset store key.", { status: 500 });
    return p;
  };
  return {
    kind: "file",
    read: async (key, range) => {
      const p = path(key);
      await stat(p); // a missing blob fails here, not inside the upload's stream
      return createReadStream(p, range ? { start: range.start, ...(range.end !== undefined ? { end: range.end } : {}) } : {});
    },
    stat: async (key) => stat(path(key)).then((s) => ({ size: s.size }), () => null),
    write: readOnly,
    delete: readOnly,
  };
}
