import { type Static, Type } from "@sinclair/typebox";
import { DatasetStoreConfig } from "@skyferry/dataset-store";
import { OutboundConfig } from "@skyferry/outbound-policy";
import { ActorVerifyConfig } from "@skyferry/actor";
import { BaseConfig } from "@skyferry/service-kit";

/** The history service's settings, each read from the environment variable of the same name. */
export const HistoryConfig = Type.Object({
  ...BaseConfig,
  ...ActorVerifyConfig,
  ...DatasetStoreConfig,
  /** HTTP port: /healthz, /readyz and the internal upload/display routes the gateway proxies to. */
  PORT: Type.Integer({ default: 8082, minimum: 0, maximum: 65535 }),
  /**
   * Shared secret the gateway sends with every proxied upload or display request (header
   * `x-skyferry-internal-token`); requests without it are refused. At least 16 characters.
   */
  SKYFERRY_INTERNAL_TOKEN: Type.String({ minLength: 16, maxLength: 512 }),
  /** Largest dataset accepted by an upload (file or URL), in bytes; larger ones answer 413. */
  HISTORY_MAX_UPLOAD_BYTES: Type.Integer({ default: 50 * 1024 ** 3, minimum: 0 }),
  /** Files one multipart upload request may carry. */
  HISTORY_MAX_FILES_PER_UPLOAD: Type.Integer({ default: 100, minimum: 1, maximum: 10_000 }),
  /** Allow URL uploads from loopback, link-local and private addresses (off: SSRF guard). */
  HISTORY_ALLOW_PRIVATE_URLS: Type.Boolean({ default: false }),
  ...OutboundConfig,
  /** Time limit of one URL upload, in ms. */
  HISTORY_URL_TIMEOUT_MS: Type.Integer({ default: 600_000, minimum: 100 }),
  /** Redirects a URL upload may follow (each target is checked again). */
  HISTORY_URL_MAX_REDIRECTS: Type.Integer({ default: 5, minimum: 0, maximum: 20 }),
});
export type HistoryConfig = Static<typeof HistoryConfig>;
