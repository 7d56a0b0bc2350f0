import { type Static, Type } from "@sinclair/typebox";
import { BaseConfig } from "@skyferry/service-kit";

/** The gateway's settings, each read from the environment variable of the same name. */
export const GatewayConfig = Type.Object({
  ...BaseConfig,
  /** Public HTTP port (the seed's clients use http://localhost:8080). */
  PORT: Type.Integer({ default: 8080, minimum: 0, maximum: 65535 }),
  /** Timeout for a request to another service over NATS, in ms. */
  SKYFERRY_RPC_TIMEOUT_MS: Type.Integer({ default: 10_000, minimum: 100 }),
});
export type GatewayConfig = Static<typeof GatewayConfig>;
