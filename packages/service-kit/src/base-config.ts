import { Type } from "@sinclair/typebox";

/**
 * Settings every service shares. A service's config schema spreads these properties and adds
 * its own; `@skyferry/config` reads each from the environment variable of the same name.
 */
export const BaseConfig = {
  /** Interface to listen on. */
  HOST: Type.String({ default: "127.0.0.1" }),
  /** NATS server URL(s), comma-separated. */
  SKYFERRY_NATS_URL: Type.String({ default: "nats://127.0.0.1:4222" }),
  /** Subject prefix isolating one deployment from another on a shared NATS. */
  SKYFERRY_NAMESPACE: Type.String({ default: "skyferry", pattern: "^[a-z0-9][a-z0-9_-]{0,62}$" }),
  /** MongoDB (or FerretDB) connection string. */
  MONGO_URL: Type.String({ default: "mongodb://127.0.0.1:27017" }),
  /** Database name; each service uses its own collections inside it. */
  MONGO_DB: Type.String({ default: "skyferry", pattern: "^[A-Za-z0-9_-]{1,63}$" }),
  LOG_LEVEL: Type.Union(
    [Type.Literal("fatal"), Type.Literal("error"), Type.Literal("warn"), Type.Literal("info"), Type.Literal("debug"), Type.Literal("trace"), Type.Literal("silent")],
    { default: "info" },
  ),
};
