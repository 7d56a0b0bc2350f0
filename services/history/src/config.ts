import { type Static, Type } from "@sinclair/typebox";
import { BaseConfig } from "@skyferry/service-kit";

/** The history service's settings, each read from the environment variable of the same name. */
export const HistoryConfig = Type.Object({
  ...BaseConfig,
  /** HTTP port for /healthz and /readyz. */
  PORT: Type.Integer({ default: 8082, minimum: 0, maximum: 65535 }),
});
export type HistoryConfig = Static<typeof HistoryConfig>;
