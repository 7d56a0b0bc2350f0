import type { GatewayConfig } from "../config.ts";
import { createHistoryUploader } from "./history-upload.ts";
import { createTusUploads } from "./tus.ts";

/** The collaborators of the Galaxy upload routes, made from the gateway's config. */
export function galaxyUploads(config: GatewayConfig) {
  return {
    tus: createTusUploads({ directory: config.SKYFERRY_TUS_DIR, maxBytes: config.SKYFERRY_TUS_MAX_BYTES, expiryMs: config.SKYFERRY_TUS_EXPIRY_SECONDS * 1000 }),
    uploader: createHistoryUploader({ historyUrl: config.SKYFERRY_HISTORY_URL, token: config.SKYFERRY_INTERNAL_TOKEN }),
    maxFiles: 100,
    maxBytes: config.SKYFERRY_TUS_MAX_BYTES,
  };
}
